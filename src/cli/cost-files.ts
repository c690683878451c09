import fs from 'node:fs';
import path from 'node:path';
import { Source } from 'graphql';
import { gqlPluckFromCodeStringSync } from '@graphql-tools/graphql-tag-pluck';

/** GraphQL documents as they are. */
export const DOCUMENT_EXTENSIONS = ['.graphql', '.gql'] as const;
/** Source files whose `gql`/`graphql` tagged templates (and `/* GraphQL *\/` strings) are extracted. */
export const CODE_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'] as const;

const hasExtension = (file: string, exts: readonly string[]) => exts.some((e) => file.endsWith(e)) && !file.endsWith('.d.ts');
export const isCodeFile = (file: string) => hasExtension(file, CODE_EXTENSIONS);
const isPriceable = (file: string) => hasExtension(file, DOCUMENT_EXTENSIONS) || isCodeFile(file);

/** A file the CLI cannot read, or a pattern that names nothing: bad usage, not an invalid document. */
export class InputFileError extends Error {}

/**
 * Expands the CLI's file patterns: `*` (within a path segment), `**` (any depth) and `?`,
 * keeping .graphql/.gql and source files; a pattern without wildcards is a file (taken as it
 * is) or a folder (those files below it; node_modules and dot-folders skipped).
 */
export function expandPatterns(patterns: readonly string[], cwd = process.cwd()): string[] {
  const out = new Set<string>();
  for (const pattern of patterns) {
    const abs = path.resolve(cwd, pattern);
    if (!/[*?]/.test(pattern)) {
      if (!fs.existsSync(abs)) throw new InputFileError(`${pattern}: no such file or folder`);
      if (fs.statSync(abs).isDirectory()) walk(abs).filter(isPriceable).forEach((f) => out.add(f));
      else out.add(abs);
      continue;
    }
    const segments = abs.split(path.sep);
    const firstGlob = segments.findIndex((s) => /[*?]/.test(s));
    const base = segments.slice(0, firstGlob).join(path.sep) || path.sep;
    const re = globToRegExp(abs);
    if (!fs.existsSync(base)) continue;
    for (const f of walk(base)) if (re.test(f) && isPriceable(f)) out.add(f);
  }
  return [...out].sort();
}

/**
 * The GraphQL sources of one file, each named by the file and placed where it starts in it, so
 * that graphql-js reports errors at the file's own line and column. A .graphql file is one
 * source; a code file gives one per tagged template, extracted by graphql-tag-pluck — what
 * GraphQL Code Generator's code-file-loader uses — parsing the file with Babel (interpolations
 * such as `${Fragment}` are left out, the fragment is found by name among all the files).
 */
export function graphqlSourcesOf(file: string): Source[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputFileError(`${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (!isCodeFile(file)) return [new Source(text, file)];
  // Babel's column is 0-based and points at the backtick; the template's body starts two later.
  return gqlPluckFromCodeStringSync(file, text, { skipIndent: true }).map(
    (s) => new Source(s.body, file, { line: s.locationOffset.line, column: s.locationOffset.column + 2 }),
  );
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

/** `<file>.variables.json` beside a document: dashboard.graphql → dashboard.variables.json. */
export const variablesFileOf = (file: string): string => file.replace(/\.[^./\\]+$/, '') + '.variables.json';
