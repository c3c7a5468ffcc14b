/**
 * Table options for the loopback server: `OPTIONS (partition_expiration_days = 30, ...)` on CREATE
 * TABLE and `ALTER TABLE ... SET OPTIONS (...)` are remembered per table and served as
 * INFORMATION_SCHEMA.TABLE_OPTIONS (option_name, option_type, option_value as BigQuery prints them)
 * and as `timePartitioning.expirationMs` by tables.get. Kept apart from engine.ts, which only calls in.
 */
import type { DuckDBConnection } from '@duckdb/node-api';

export const TABLE_OPTIONS_SETUP = `
CREATE TABLE IF NOT EXISTS __bq.table_option_state (table_schema VARCHAR, table_name VARCHAR, option_name VARCHAR,
  option_type VARCHAR, option_value VARCHAR);
CREATE VIEW __bq.table_options AS
  SELECT 'test-project' AS table_catalog, table_schema, table_name, option_name, option_type, option_value FROM __bq.table_option_state;
`;

export interface TableOption {
  readonly name: string;
  readonly type: string;
  readonly value: string;
}

/** The options of a `CREATE TABLE ... OPTIONS (...)` or `ALTER TABLE ... SET OPTIONS (...)` statement. */
export function tableOptionsOf(statement: string): TableOption[] {
  const list = /\bOPTIONS\s*\(([^)]*)\)/i.exec(statement)?.[1];
  if (!list) return [];
  const options: TableOption[] = [];
  for (const part of list.split(',')) {
    const match = /^\s*([A-Za-z_]\w*)\s*=\s*(.+?)\s*$/.exec(part);
    if (!match) continue;
    const name = (match[1] ?? '').toLowerCase();
    const raw = match[2] ?? '';
    if (/^-?\d+(\.\d+)?$/.test(raw)) options.push({ name, type: 'FLOAT64', value: Number(raw).toFixed(1) });
    else if (/^'.*'$/.test(raw)) options.push({ name, type: 'STRING', value: `"${raw.slice(1, -1)}"` });
    else options.push({ name, type: 'STRING', value: raw });
  }
  return options;
}

/** `ALTER TABLE \`p.d.t\` SET OPTIONS (...)`: the dataset and table it names, or undefined. */
export function alterOptionsTarget(statement: string): { dataset: string; table: string } | undefined {
  const match = /^\s*ALTER\s+TABLE\s+`([^`]+)`\s+SET\s+OPTIONS\b/i.exec(statement);
  const parts = match?.[1]?.split('.') ?? [];
  if (parts.length < 2) return undefined;
  return { dataset: parts[parts.length - 2] ?? '', table: parts[parts.length - 1] ?? '' };
}

const q = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/** Records options of a table; `replace` (CREATE TABLE) forgets the ones it had. */
export async function recordTableOptions(
  connection: DuckDBConnection,
  dataset: string,
  table: string,
  options: readonly TableOption[],
  replace: boolean,
): Promise<void> {
  const where = `table_schema = ${q(dataset)} AND table_name = ${q(table)}`;
  if (replace) await connection.run(`DELETE FROM __bq.table_option_state WHERE ${where}`);
  for (const option of options) {
    await connection.run(`DELETE FROM __bq.table_option_state WHERE ${where} AND option_name = ${q(option.name)}`);
    await connection.run(`INSERT INTO __bq.table_option_state VALUES (${q(dataset)}, ${q(table)}, ${q(option.name)}, ${q(option.type)}, ${q(option.value)})`);
  }
}

/** partition_expiration_days of a table in ms, as tables.get reports timePartitioning.expirationMs. */
export async function expirationMs(connection: DuckDBConnection, dataset: string, table: string): Promise<number | undefined> {
  const reader = await connection.runAndReadAll(
    `SELECT option_value FROM __bq.table_option_state WHERE table_schema = ${q(dataset)} AND table_name = ${q(table)} AND option_name = 'partition_expiration_days'`,
  );
  const value = reader.getRows()[0]?.[0];
  return value === undefined || value === null ? undefined : Math.round(Number(value) * 86_400_000);
}
