/**
 * DuckDB helpers for tests. Each call opens the file, does its work and CLOSES it, so a child `dag`
 * process can open the file afterwards. Files are attached under an alias (like the adapter does), so a
 * file named like one of its schemas works; `raw.t` in SQL means schema raw, table t of the file.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { DuckdbTarget } from '../../src/core/model.js';

const ALIAS = 'test_db';

export async function withDuckdb<T>(dbPath: string, work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  mkdirSync(dirname(dbPath), { recursive: true });
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(`ATTACH '${dbPath.replace(/'/g, "''")}' AS ${ALIAS}`);
    await connection.run(`USE ${ALIAS}`);
    return await work(connection);
  } finally {
    connection.disconnectSync();
    instance.closeSync();
  }
}

/** A DuckDB target as the config resolver would produce it. */
export function duckdbTarget(dbPath: string, name = 'dev', ledgerSchema = '_dag'): DuckdbTarget {
  return { type: 'duckdb', name, path: dbPath, ledgerSchema };
}

type Row = Readonly<Record<string, string | number | boolean | null>>;

function literal(value: string | number | boolean | null): string {
  if (value === null) return 'NULL';
  if (typeof value === 'string') return `'${value.replace(/'/g, "''")}'`;
  return String(value);
}

function quoted(qualified: string): string {
  return qualified
    .split('.')
    .map((part) => `"${part}"`)
    .join('.');
}

/**
 * (Re)creates `schema.table` with partition column `column` (DATE). `rowsByDay` maps ISO dates to a row
 * count (rows get `id` and `payload` columns) or to explicit rows (their keys become columns; all row
 * lists must share keys). A count of 0 creates no rows for that day.
 */
export async function createTable(dbPath: string, table: string, column: string, rowsByDay: Readonly<Record<string, number | readonly Row[]>>): Promise<void> {
  const [schema] = table.split('.');
  const values: string[] = [];
  let keys: string[] | undefined;
  for (const [day, rows] of Object.entries(rowsByDay)) {
    const list: Row[] = typeof rows === 'number' ? Array.from({ length: rows }, (_, i) => ({ id: i, payload: `${day}#${i}` })) : [...rows];
    for (const row of list) {
      keys ??= Object.keys(row);
      values.push(`(DATE '${day}', ${keys.map((key) => literal(row[key] ?? null)).join(', ')})`);
    }
  }
  keys ??= ['id', 'payload'];
  const columnNames = [column, ...keys].map((name) => `"${name}"`).join(', ');
  await withDuckdb(dbPath, async (connection) => {
    await connection.run(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    if (values.length === 0) {
      await connection.run(`CREATE OR REPLACE TABLE ${quoted(table)} ("${column}" DATE, id INTEGER, payload VARCHAR)`);
      return;
    }
    await connection.run(`CREATE OR REPLACE TABLE ${quoted(table)} AS SELECT * FROM (VALUES ${values.join(', ')}) AS v(${columnNames})`);
  });
}

/** Rows of a query as plain JSON-like objects (dates as ISO strings, big integers as strings). */
export async function queryRows(dbPath: string, sql: string): Promise<Record<string, unknown>[]> {
  return withDuckdb(dbPath, async (connection) => (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[]);
}

export async function execSql(dbPath: string, ...statements: string[]): Promise<void> {
  await withDuckdb(dbPath, async (connection) => {
    for (const sql of statements) await connection.run(sql);
  });
}

export async function deletePartition(dbPath: string, table: string, column: string, day: string): Promise<void> {
  await execSql(dbPath, `DELETE FROM ${quoted(table)} WHERE "${column}" = DATE '${day}'`);
}

/**
 * Changes a partition's content: runs `UPDATE ... SET <set>` on its rows when `set` is given,
 * else appends a copy of one of its rows (the row count grows by one).
 */
export async function updatePartitionContent(dbPath: string, table: string, column: string, day: string, set?: string): Promise<void> {
  const where = `"${column}" = DATE '${day}'`;
  await execSql(
    dbPath,
    set ? `UPDATE ${quoted(table)} SET ${set} WHERE ${where}` : `INSERT INTO ${quoted(table)} SELECT * FROM ${quoted(table)} WHERE ${where} LIMIT 1`,
  );
}
