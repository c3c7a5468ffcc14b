#!/usr/bin/env -S node --max-semi-space-size=32
// The larger young generation halves garbage-collection time when a plan holds a million partitions.
// The bin stays plain JS so `npx dag` works right after `npm ci`, which builds dist/bundle/dag.cjs
// ("prepare"). It runs the bundle with V8's code cache: the functions an earlier dag invocation
// compiled are loaded ready-made instead of parsed and compiled again (~40 ms of every start-up).
// The cache lives in dist/bundle/.v8-cache/, one file per bundle content, Node version, V8 flags and
// verb; it is written after a run that had none (or one V8 rejected) and ended 0 or 1, and skipped
// silently where it cannot be read or written.
// CommonJS (bin/package.json): an ES module entry would start Node's ESM loader, ~20 ms of every run.
'use strict';
const { createHash } = require('node:crypto');
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const { createRequire, Module } = require('node:module');
const { dirname, join } = require('node:path');
const { Script } = require('node:vm');

const bundle = join(__dirname, '..', 'dist', 'bundle', 'dag.cjs');
let source;
try {
  source = readFileSync(bundle, 'utf8');
} catch {
  process.stderr.write('dag: the compiled CLI is missing (dist/bundle/dag.cjs). Run `npm ci` or `npm run build` in the dag package first.\n');
  process.exit(2);
}

// V8 accepts a cache made from a source of the same length, so the key must name the content. One
// cache per verb: each holds the functions its verb compiled.
const key = createHash('sha256')
  .update(source)
  .update(`\0${process.version}\0${process.execArgv.join(' ')}\0${process.env.NODE_OPTIONS ?? ''}`)
  .digest('hex')
  .slice(0, 24);
const args = process.argv.slice(2);
const helpOnly = args.some((arg) => ['-h', '--help', '-V', '--version'].includes(arg));
const verb = !helpOnly && ['validate', 'plan', 'run', 'explain', 'render', 'graph', 'report', 'runs', 'ledger'].includes(args[0]) ? args[0] : 'other';
const cacheDir = join(dirname(bundle), '.v8-cache');
const cacheFile = join(cacheDir, `${key}-${verb}.bin`);
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}

const script = new Script(Module.wrap(source), { filename: bundle, cachedData });
if (cachedData === undefined || script.cachedDataRejected) {
  process.once('exit', (code) => {
    // A usage error (2) ran little of the verb: its cache would be kept, and stay small, for good.
    if (code !== 0 && code !== 1) return;
    try {
      mkdirSync(cacheDir, { recursive: true });
      const partial = `${cacheFile}.${process.pid}`;
      writeFileSync(partial, script.createCachedData());
      renameSync(partial, cacheFile);
    } catch {
      // A read-only install: start-up simply stays uncached.
    }
  });
}
// A vm.Script has no module loader for import(): a dag.config.mjs is imported through this module.
globalThis[Symbol.for('dag-partitions.import')] = (url) => import(url);
const bundleModule = { exports: {}, filename: bundle, id: bundle, loaded: false };
try {
  script.runInThisContext()(bundleModule.exports, createRequire(bundle), bundleModule, bundle, dirname(bundle));
} catch (error) {
  process.stderr.write(`dag: could not start: ${error?.message ? error.message : error}. This is a bug in dag.\n`);
  if (process.env.DAG_DEBUG && error?.stack) process.stderr.write(`${error.stack}\n`);
  process.exit(2);
}
