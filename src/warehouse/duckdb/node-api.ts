/**
 * @duckdb/node-api, loaded with require(). The package is CommonJS: importing it from ESM makes Node
 * scan the source of the entry and of every file it re-exports for export names (cjs-module-lexer),
 * which cost ~100 ms per process on top of loading it; require() loads the same module without that
 * scan. The adapter takes the package's values from here (types may still be imported directly).
 */
import { createRequire } from 'node:module';

const nodeApi = createRequire(import.meta.url)('@duckdb/node-api') as typeof import('@duckdb/node-api');

export const { DuckDBInstance, dateValue, timestampValue } = nodeApi;
