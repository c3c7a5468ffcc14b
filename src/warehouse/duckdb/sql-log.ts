/**
 * `DAG_LOG_SQL=FILE`: every statement the DuckDB adapter sends is appended to FILE, each ended by
 * `;` and a blank line, so a person (or a test) can see exactly what ran — and compare it with
 * `dag render`. Debugging only: written synchronously, in the order statements are issued.
 */
import { appendFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { StatementHook } from './connection.js';

export function statementLog(env: Readonly<Record<string, string | undefined>>, cwd = process.cwd()): StatementHook | undefined {
  const file = env.DAG_LOG_SQL;
  if (file === undefined || file === '') return undefined;
  const path = resolve(cwd, file);
  return (sql) => appendFileSync(path, `${sql.trimEnd()}${sql.trimEnd().endsWith(';') ? '' : ';'}\n\n`);
}
