#!/usr/bin/env node
'use strict';
/*
 * analytics-gateway <command>: today `cost` (price GraphQL operations for CI budgets).
 * Runs the compiled CLI when `npm run build` has produced it, else the TypeScript sources
 * through tsx (installed by `npm ci` in this repo).
 */
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const compiled = path.join(root, 'dist', 'src', 'cli', 'cost.js');
const [command, ...args] = process.argv.slice(2);

if (command !== 'cost') {
  process.stderr.write('Usage: analytics-gateway cost <files or globs…> [--budget N] [--role R] [--json] [--schema path]\n');
  process.exit(command === '--help' || command === '-h' ? 0 : 2);
}

let cli;
if (fs.existsSync(compiled)) {
  cli = require(compiled);
} else {
  require('tsx/cjs');
  cli = require(path.join(root, 'src', 'cli', 'cost.ts'));
}
process.exitCode = cli.runCostCli(args);
