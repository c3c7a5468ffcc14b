#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli/entry.js) into one CommonJS file, dist/bundle/dag.cjs, which
// bin/dag.js runs with V8's code cache. Every dag invocation pays for loading its code before it does
// anything: as ~50 ES modules of dag's own plus commander, yaml and @duckdb/node-api (~250 files) that
// cost ~100 ms; bundled, ~60 ms; bundled and run from the code cache (compiled functions kept from an
// earlier run), ~20 ms. Verbs and adapters stay lazy inside the bundle (main.ts and open.ts import
// them on demand). Packages that are big and rarely needed, or native, stay outside and load from
// node_modules when used: DuckDB's native bindings, the BigQuery client, cosmiconfig (only when
// pipeline.yaml is not in the working directory) and ajv (only when the precompiled validator is stale).
// DuckDB's loader is bundled as scripts/duckdb-bindings.cjs, and commander's child_process is loaded on
// first use: neither is needed by a command that starts no subprocess (child_process alone: ~8 ms).
// Whitespace and comments are left out (the bundle is read and hashed on every start: 1.6 → 1.2 MB);
// names are kept, so a DAG_DEBUG stack still says where it was.
import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { PRECOMPILED_FILE } from '../dist/config/schema-validator.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');

/** Replaces `from` (which must occur once) in the files matching `filter` as esbuild loads them. */
const patch = (name, filter, from, to) => ({
  name,
  setup(build) {
    build.onLoad({ filter }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (text.split(from).length !== 2) throw new Error(`bundle-cli: ${name}: expected one \`${from}\` in ${args.path}`);
      return { contents: text.replace(from, to), loader: 'js' };
    });
  },
});
const lazyChildProcess = patch(
  'commander-lazy-child-process',
  /[\\/]commander[\\/]lib[\\/]command\.js$/,
  "const childProcess = require('node:child_process');",
  "let loadedChildProcess; const childProcess = { spawn: (...args) => (loadedChildProcess ??= require('node:child_process')).spawn(...args) };",
);
const duckdbBindings = {
  name: 'duckdb-bindings',
  setup(build) {
    build.onResolve({ filter: /^@duckdb\/node-bindings$/ }, () => ({ path: join(root, 'scripts', 'duckdb-bindings.cjs') }));
    // The loader finds the platform packages from there, at run time.
    build.onResolve({ filter: /^@duckdb\/node-bindings\/package\.json$/ }, (args) => ({ path: args.path, external: true }));
  },
};
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [join(root, 'dist', 'cli', 'entry.js')],
  outfile: join(outdir, 'dag.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: ['@google-cloud/bigquery', 'cosmiconfig', 'ajv'],
  plugins: [lazyChildProcess, duckdbBindings],
  minifyWhitespace: true,
  charset: 'ascii',
  // import() of an external becomes require() (each one above is CommonJS): the bin runs the bundle as
  // a vm.Script, which has no module loader. A user's dag.config.mjs is imported through the bin
  // instead (src/config/discover.ts).
  supported: { 'dynamic-import': false },
  // Modules find files next to themselves through import.meta.url (schema-validator.ts): in the bundle
  // that is the bundle's own URL, two folders below the package root as dist/config/ is.
  define: { 'import.meta.url': '__dagModuleUrl' },
  banner: { js: "var __dagModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
// The precompiled validator sits next to the bundle, where schema-validator.ts looks for it.
copyFileSync(PRECOMPILED_FILE, join(outdir, basename(PRECOMPILED_FILE)));
console.log(`bundle-cli: ${join(outdir, 'dag.cjs')}`);
