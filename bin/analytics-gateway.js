#!/usr/bin/env node
'use strict';
/*
 * analytics-gateway <command>:
 *   cost   price GraphQL operations for CI budgets
 *   keys   create, list and revoke API keys (DATABASE_URL or the embedded DATA_DIR)
 *   orgs   create and list orgs (tenants), optionally with their first projects
 * Runs the compiled CLI when `npm run build` has produced it, else the TypeScript sources
 * through tsx (installed by `npm ci` in this repo).
 */
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const [command, ...args] = process.argv.slice(2);
const USAGE = [
  'Usage: analytics-gateway cost <files or globs…> [--budget N] [--role R] [--json] [--schema path]',
  '       analytics-gateway keys create|list|revoke … (analytics-gateway keys --help)',
  '       analytics-gateway orgs create|list … (analytics-gateway orgs --help)',
  '',
].join('\n');

if (command !== 'cost' && command !== 'keys' && command !== 'orgs') {
  process.stderr.write(USAGE);
  process.exit(command === '--help' || command === '-h' ? 0 : 2);
}

function load(name) {
  const compiled = path.join(root, 'dist', 'src', 'cli', `${name}.js`);
  if (fs.existsSync(compiled)) return require(compiled);
  require('tsx/cjs');
  return require(path.join(root, 'src', 'cli', `${name}.ts`));
}

if (command === 'cost') {
  process.exitCode = load('cost').runCostCli(args);
} else {
  const cli = command === 'keys' ? load('keys').runKeysCli : load('orgs').runOrgsCli;
  cli(args)
    .then((code) => process.exit(code))
    .catch((err) => {
      process.stderr.write(`${err && err.stack ? err.stack : String(err)}\n`);
      process.exit(1);
    });
}
