/**
 * Where the server is as strict as BigQuery about schemas, so a positional or lossy write that DuckDB
 * would accept (it casts DOUBLE into INTEGER without a word) fails here as it does on BigQuery:
 * - INSERT ... SELECT: the query's columns must match the listed columns (or, without a list, all the
 *   table's columns) in number and, by position, in type up to BigQuery's coercions;
 * - ALTER TABLE ADD COLUMN [IF NOT EXISTS], and ALTER COLUMN SET DATA TYPE only to a type the column
 *   coerces to (never the partitioning column);
 * - no DDL on permanent tables inside a transaction.
 * Types are compared in BigQuery's names (bq_type below maps DuckDB's).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { BigqueryLikeError } from './translate.js';

/** DuckDB's type names as BigQuery's (DECIMAL(38,18) stands for BIGNUMERIC, any other DECIMAL for NUMERIC). */
export const BQ_TYPE_MACRO = `CREATE MACRO bq_type(t) AS CASE
  WHEN t IN ('TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT') THEN 'INT64'
  WHEN t IN ('FLOAT', 'DOUBLE') THEN 'FLOAT64'
  WHEN t = 'DECIMAL(38,18)' THEN 'BIGNUMERIC'
  WHEN t LIKE 'DECIMAL(%' THEN 'NUMERIC'
  WHEN t = 'VARCHAR' THEN 'STRING'
  WHEN t = 'BOOLEAN' THEN 'BOOL'
  WHEN t = 'BLOB' THEN 'BYTES'
  WHEN t LIKE 'TIMESTAMP%' THEN 'TIMESTAMP'
  ELSE t END`;

/** BigQuery's "Coerce to" column (reference/standard-sql/conversion_rules): what INSERT and ALTER COLUMN accept. */
const COERCIONS: Readonly<Record<string, readonly string[]>> = {
  INT64: ['NUMERIC', 'BIGNUMERIC', 'FLOAT64'],
  NUMERIC: ['BIGNUMERIC', 'FLOAT64'],
  BIGNUMERIC: ['FLOAT64'],
  DATE: ['DATETIME'],
};

export function coercible(from: string, to: string): boolean {
  return from === to || (COERCIONS[from]?.includes(to) ?? false);
}

/** The REST API's (legacy) spelling of a type, as tables.get and query schemas carry it. */
export function legacyName(type: string): string {
  return ({ INT64: 'INTEGER', FLOAT64: 'FLOAT', BOOL: 'BOOLEAN' } as Record<string, string>)[type] ?? type;
}

/** A BigQuery DDL type as DuckDB's. */
function duckType(type: string): string {
  const upper = type.trim().toUpperCase();
  const mapped = (
    {
      INT64: 'BIGINT',
      FLOAT64: 'DOUBLE',
      NUMERIC: 'DECIMAL(38,9)',
      BIGNUMERIC: 'DECIMAL(38,18)',
      STRING: 'VARCHAR',
      BOOL: 'BOOLEAN',
      BYTES: 'BLOB',
      DATE: 'DATE',
      TIMESTAMP: 'TIMESTAMP',
    } as Record<string, string>
  )[upper];
  if (!mapped) throw new BigqueryLikeError(400, 'invalidQuery', `the test server does not serve the column type ${type} in ALTER TABLE`);
  return mapped;
}

interface NamedType {
  readonly name: string;
  readonly type: string;
}

async function rows(connection: DuckDBConnection, sql: string): Promise<NamedType[]> {
  const reader = await connection.runAndReadAll(sql);
  return reader.getRows().map((r) => ({ name: String(r[0]), type: String(r[1]) }));
}

const q = (text: string): string => `'${text.replace(/'/g, "''")}'`;

function tableColumns(connection: DuckDBConnection, dataset: string, table: string): Promise<NamedType[]> {
  return rows(
    connection,
    `SELECT column_name, bq_type(data_type) FROM information_schema.columns WHERE table_schema = ${q(dataset)} AND table_name = ${q(table)} ORDER BY ordinal_position`,
  );
}

/** A query's columns in BigQuery's types, bound and not run. */
export function describeQuery(connection: DuckDBConnection, query: string): Promise<NamedType[]> {
  return rows(connection, `SELECT column_name, bq_type(column_type) FROM (DESCRIBE ${query})`);
}

/** `"d"."t"` (a translated name) as its parts; undefined for a temp table (no dataset). */
function nameParts(name: string): { dataset: string; table: string } | undefined {
  const parts = /^"([^"]+)"\."([^"]+)"$/.exec(name.trim());
  return parts ? { dataset: parts[1] ?? '', table: parts[2] ?? '' } : undefined;
}

const unquote = (name: string): string => name.trim().replace(/^"(.*)"$/, '$1');

/** Splits on commas outside parentheses and angle brackets (STRUCT<a INT64, b STRING>). */
function topLevelItems(text: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(' || ch === '<') depth++;
    if (ch === ')' || ch === '>') depth--;
    if (ch === ',' && depth === 0) {
      items.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim() !== '') items.push(current.trim());
  return items;
}

/** `INSERT INTO "d"."t" [(cols)] <query>` (translated SQL): rejects what BigQuery rejects. VALUES lists pass. */
export async function checkInsert(connection: DuckDBConnection, sql: string): Promise<void> {
  const match = /^\s*INSERT\s+(?:INTO\s+)?("[^"]+"\."[^"]+")\s*(?:\(([^()]*)\))?\s*([\s\S]*)$/i.exec(sql);
  const target = match ? nameParts(match[1] ?? '') : undefined;
  const query = match?.[3] ?? '';
  if (!match || !target || !/^\(?\s*(SELECT|WITH)\b/i.test(query)) return;
  const table = await tableColumns(connection, target.dataset, target.table);
  const listed =
    match[2] === undefined
      ? table
      : topLevelItems(match[2])
          .map(unquote)
          .map((name) => {
            const column = table.find((c) => c.name.toLowerCase() === name.toLowerCase());
            if (!column) throw new BigqueryLikeError(400, 'invalidQuery', `Column ${name} is not present in table ${target.dataset}.${target.table} at [1:1]`);
            return column;
          });
  const yielded = await describeQuery(connection, query);
  if (yielded.length !== listed.length)
    throw new BigqueryLikeError(400, 'invalidQuery', `Inserted row has wrong column count; Has ${yielded.length}, ${listed.length} are required at [1:1]`);
  yielded.forEach((column, i) => {
    const into = listed[i];
    if (into && !coercible(column.type, into.type))
      throw new BigqueryLikeError(
        400,
        'invalidQuery',
        `Query column ${i + 1} has type ${column.type} which cannot be inserted into column ${into.name}, which has type ${into.type} at [1:1]`,
      );
  });
}

/**
 * `ALTER TABLE "d"."t" ADD COLUMN [IF NOT EXISTS] c TYPE, ... | ALTER COLUMN c SET DATA TYPE TYPE`
 * (translated SQL) applied as BigQuery allows; returns the table it changed.
 */
export async function alterTable(connection: DuckDBConnection, sql: string, partitionColumn: string | undefined): Promise<{ dataset: string; table: string }> {
  const match = /^\s*ALTER\s+TABLE\s+("[^"]+"\."[^"]+")\s+([\s\S]+)$/i.exec(sql);
  const target = match ? nameParts(match[1] ?? '') : undefined;
  if (!match || !target) throw new BigqueryLikeError(400, 'invalidQuery', 'the test server serves ALTER TABLE only on `project.dataset.table`');
  const name = match[1] ?? '';
  for (const action of topLevelItems(match[2] ?? '')) {
    const table = await tableColumns(connection, target.dataset, target.table);
    if (table.length === 0) throw new BigqueryLikeError(404, 'notFound', `Not found: Table ${target.dataset}.${target.table}`);
    const find = (column: string) => table.find((c) => c.name.toLowerCase() === column.toLowerCase());
    const add = /^ADD\s+COLUMN\s+(IF\s+NOT\s+EXISTS\s+)?("[^"]+"|\w+)\s+([\s\S]+)$/i.exec(action);
    const alter = /^ALTER\s+COLUMN\s+("[^"]+"|\w+)\s+SET\s+DATA\s+TYPE\s+([\s\S]+)$/i.exec(action);
    const drop = /^DROP\s+COLUMN\s+(IF\s+EXISTS\s+)?("[^"]+"|\w+)$/i.exec(action.trim());
    if (drop) {
      // BigQuery drops any column but the partitioning one (the ledger tests damage a ledger this way).
      const column = unquote(drop[2] ?? '');
      if (!find(column)) {
        if (drop[1]) continue;
        throw new BigqueryLikeError(400, 'invalidQuery', `Column not found: ${column}`);
      }
      if (partitionColumn !== undefined && column.toLowerCase() === partitionColumn.toLowerCase())
        throw new BigqueryLikeError(400, 'invalidQuery', `Cannot drop the partitioning column ${column}`);
      await connection.run(`ALTER TABLE ${name} DROP COLUMN "${column}"`);
    } else if (add) {
      const column = unquote(add[2] ?? '');
      if (find(column)) {
        if (add[1]) continue;
        throw new BigqueryLikeError(400, 'invalidQuery', `Column already exists: ${column}`);
      }
      await connection.run(`ALTER TABLE ${name} ADD COLUMN "${column}" ${duckType(add[3] ?? '')}`);
    } else if (alter) {
      const column = unquote(alter[1] ?? '');
      const type = (alter[2] ?? '').trim().toUpperCase();
      const existing = find(column);
      if (!existing) throw new BigqueryLikeError(400, 'invalidQuery', `Column not found: ${column}`);
      if (partitionColumn !== undefined && column.toLowerCase() === partitionColumn.toLowerCase())
        throw new BigqueryLikeError(400, 'invalidQuery', `ALTER TABLE ALTER COLUMN SET DATA TYPE cannot change the partitioning column ${column}`);
      if (!coercible(existing.type, type))
        throw new BigqueryLikeError(
          400,
          'invalidQuery',
          `ALTER TABLE ALTER COLUMN SET DATA TYPE requires that the existing column type (${existing.type}) is assignable to the new type (${type})`,
        );
      if (existing.type !== type) await connection.run(`ALTER TABLE ${name} ALTER COLUMN "${column}" SET DATA TYPE ${duckType(type)}`);
    } else throw new BigqueryLikeError(400, 'invalidQuery', `the test server does not serve ALTER TABLE ${action}`);
  }
  return target;
}

/** CREATE/DROP/ALTER of a table or schema that is not a temp table: BigQuery refuses it inside a transaction. */
export function isPermanentDdl(statement: string): boolean {
  if (/^\s*CREATE\s+(OR\s+REPLACE\s+)?TEMP(ORARY)?\s/i.test(statement)) return false;
  if (/^\s*DROP\s+TABLE\s+(IF\s+EXISTS\s+)?[A-Za-z_]\w*\s*$/i.test(statement)) return false; // an unqualified name: a temp table
  return /^\s*(CREATE|DROP|ALTER)\s+(OR\s+REPLACE\s+)?(TABLE|SCHEMA)\b/i.test(statement);
}
