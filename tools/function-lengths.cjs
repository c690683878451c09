#!/usr/bin/env node
/**
 * `node tools/function-lengths.cjs [dir] [max]`: every function in the TypeScript files under
 * `dir` (src) longer than `max` lines (60), nested closures included, longest first. Exits 1 when
 * it lists any (the codebase's rule: no function over about 60 lines without a stated reason).
 */
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const root = path.resolve(process.argv[2] ?? 'src');
const max = Number(process.argv[3] ?? 60);

function filesUnder(dir, out = []) {
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    if (fs.statSync(p).isDirectory()) {
      if (name !== '__generated__' && name !== 'node_modules') filesUnder(p, out);
    } else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const isFunction = (n) =>
  ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isArrowFunction(n) || ts.isFunctionExpression(n) || ts.isConstructorDeclaration(n);

const long = [];
for (const file of filesUnder(root)) {
  const src = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const visit = (n) => {
    if (isFunction(n)) {
      const first = src.getLineAndCharacterOfPosition(n.getStart()).line;
      const lines = src.getLineAndCharacterOfPosition(n.getEnd()).line - first + 1;
      const name = n.name ? n.name.getText() : n.parent && n.parent.name ? n.parent.name.getText() : '(anonymous)';
      if (lines > max) long.push({ lines, where: `${path.relative(process.cwd(), file)}:${first + 1}`, name });
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
}
long.sort((a, b) => b.lines - a.lines);
for (const f of long) console.log(`${f.lines}\t${f.where}\t${f.name}`);
if (long.length) process.exitCode = 1;
else console.log(`no function over ${max} lines in ${path.relative(process.cwd(), root) || '.'}`);
