/**
 * @duckdb/node-api's values, imported in one place. The CLI runs from an esbuild bundle
 * (scripts/bundle-cli.mjs) that includes this CommonJS package's ~180 files: loading them as separate
 * files cost ~60 ms per process, and importing the package unbundled from ESM makes Node also scan
 * every file for export names (~100 ms more). Only its native bindings load from node_modules.
 */
import * as nodeApi from '@duckdb/node-api';

export const { DuckDBInstance, dateValue, timestampValue } = nodeApi;
