#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli/main.js) into dist/bundle/, which bin/dag.js runs. Every dag
// invocation pays for loading its modules before it does anything: ~50 files of dag's own plus
// commander and yaml (~75 files) cost ~35 ms more as separate ES modules than as a few bundled chunks.
// Each verb stays its own chunk (main.ts imports them lazily), and so does the DuckDB adapter with
// @duckdb/node-api's ~180 CommonJS files (loaded only for a DuckDB target). Packages that are big and
// rarely needed, or native, stay outside and load from node_modules when used: DuckDB's native
// bindings, the BigQuery client, cosmiconfig (only when pipeline.yaml is not in the working
// directory) and ajv (only when the precompiled validator is stale).
import { copyFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [join(root, 'dist', 'cli', 'main.js')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['@duckdb/node-bindings', '@google-cloud/bigquery', 'cosmiconfig', 'ajv'],
  // commander is CommonJS and requires Node's built-ins: give the ES module chunks a require().
  banner: { js: "import { createRequire as __dagCreateRequire } from 'node:module'; const require = __dagCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
// schema-validator.ts finds the precompiled validator next to itself (import.meta.url): in the bundle
// that is dist/bundle/.
copyFileSync(join(root, 'dist', 'config', 'pipeline-validator.cjs'), join(outdir, 'pipeline-validator.cjs'));
console.log(`bundle-cli: ${outdir}`);
