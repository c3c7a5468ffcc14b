/**
 * @duckdb/node-api's values, imported in one place. The CLI runs from an esbuild bundle
 * (scripts/bundle-cli.mjs) that includes this CommonJS package's ~180 files in the DuckDB adapter's
 * chunk: loading it as separate files cost ~60 ms per process, and importing it unbundled from ESM
 * makes Node also scan every file for export names (~100 ms more).
 */
import * as nodeApi from '@duckdb/node-api';

export const { DuckDBInstance, dateValue, timestampValue } = nodeApi;
