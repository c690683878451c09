import fs from 'node:fs';
import path from 'node:path';

/**
 * Expands the CLI's file patterns: `*` (within a path segment), `**` (any depth) and `?`;
 * a pattern without wildcards is a file or a folder (every .graphql below it). Dependency-free
 * so the CLI starts quickly in CI.
 */
export function expandPatterns(patterns: readonly string[], cwd = process.cwd()): string[] {
  const out = new Set<string>();
  for (const pattern of patterns) {
    const abs = path.resolve(cwd, pattern);
    if (!/[*?]/.test(pattern)) {
      if (fs.existsSync(abs) && fs.statSync(abs).isDirectory()) walk(abs).filter((f) => f.endsWith('.graphql') || f.endsWith('.gql')).forEach((f) => out.add(f));
      else out.add(abs);
      continue;
    }
    const segments = abs.split(path.sep);
    const firstGlob = segments.findIndex((s) => /[*?]/.test(s));
    const base = segments.slice(0, firstGlob).join(path.sep) || path.sep;
    const re = globToRegExp(abs);
    if (!fs.existsSync(base)) continue;
    for (const f of walk(base)) if (re.test(f)) out.add(f);
  }
  return [...out].sort();
}

function walk(dir: string): string[] {
  const files: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) files.push(...walk(p));
    else if (e.isFile()) files.push(p);
  }
  return files;
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // "**/" matches zero or more folders
      if (glob[i + 2] === '/' || glob[i + 2] === path.sep) {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
