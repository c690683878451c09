/**
 * Checks on a decoded request (JSON body or GET parameters) made before anything walks it:
 * nesting depth (graphql-js, pricing, cache keys and loggers recurse over variables) and NUL
 * characters, which PostgreSQL cannot store in text and would answer with its own error text.
 * Iterative, so the check itself cannot overflow the stack.
 */
export type InputProblem = { readonly kind: 'depth'; readonly limit: number } | { readonly kind: 'nul'; readonly path: string };

export function findInputProblem(value: unknown, maxDepth: number, rootPath = ''): InputProblem | null {
  const stack: [unknown, number, string][] = [[value, 0, rootPath]];
  while (stack.length) {
    const [v, depth, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return { kind: 'nul', path };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= maxDepth) return { kind: 'depth', limit: maxDepth };
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push([v[i], depth + 1, `${path}[${i}]`]);
    } else {
      for (const [k, inner] of Object.entries(v)) {
        if (k.includes('\u0000')) return { kind: 'nul', path };
        stack.push([inner, depth + 1, path ? `${path}.${k}` : k]);
      }
    }
  }
  return null;
}

export const hasNul = (s: string): boolean => s.includes('\u0000');
