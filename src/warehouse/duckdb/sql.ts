/**
 * The DuckDB dialect: quoting, typed literals and the ledger's DDL. Every table name dag emits is
 * fully qualified under the fixed catalog alias the file is attached as, so a file named like one of
 * its schemas (`nba.duckdb` holding schema `nba`) is never ambiguous.
 */
import { formatDay, type Day } from '../../core/dates.js';
import type { TableRef } from '../../core/model.js';
import { LEDGER_SCHEMA_VERSION, RUN_SUMMARY_COLUMNS, TABLE_NAME_COLUMN, type LedgerSpec } from '../ledger-shape.js';

/** The alias the database file is attached under (see connection.ts). */
export const CATALOG = 'dag_target';

/** Bumped when the ledger tables change shape; `_dag.meta` records the version a file was made with. */
export { LEDGER_SCHEMA_VERSION };

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

export function dateLiteral(day: Day): string {
  return `DATE '${formatDay(day)}'`;
}

/** Epoch ms as a TIMESTAMP literal expression (ms precision survives the round trip). */
export function timestampLiteral(ms: number): string {
  return `epoch_ms(${Math.round(ms)}::BIGINT)`;
}

export function qualifiedTable(table: TableRef): string {
  return `${quoteIdent(CATALOG)}.${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
}

export function qualifiedSchema(schema: string): string {
  return `${quoteIdent(CATALOG)}.${quoteIdent(schema)}`;
}

export function ledgerTable(ledgerSchema: string, name: LedgerTableName): string {
  return qualifiedTable({ schema: ledgerSchema, name });
}

export type LedgerTableName = 'meta' | 'partitions' | 'source_versions' | 'runs' | 'failures' | 'batches' | 'checks';

/** A DATE column as a Day number, computed by DuckDB so no JS Date objects are made. */
export function dayExpression(column: string): string {
  return `(${column} - DATE '1970-01-01')::INTEGER`;
}

/** A TIMESTAMP column as epoch ms in a JS number. */
export function msExpression(column: string): string {
  return `epoch_ms(${column})::DOUBLE`;
}

export function stringList(values: readonly string[]): string {
  return values.map(quoteString).join(', ');
}

/** `_dag.checks` (version 3): every finding of a data check, both severities. */
const CHECKS_COLUMNS = ['run_id', 'processor', 'partition_date', 'check_name', 'severity', 'offending_rows', 'samples', 'checked_at'];

/**
 * The columns each ledger table must have (ledger-shape.ts judges what a file holds against them).
 * `partitions.table_name` is last: version 1 ledgers gain it by ALTER TABLE ADD COLUMN.
 */
export const LEDGER_SPEC: LedgerSpec = {
  tables: {
    meta: ['key', 'value'],
    partitions: ['processor', 'partition_date', 'run_id', 'built_at', 'rows', 'code_fingerprint', 'input_fingerprint', TABLE_NAME_COLUMN],
    source_versions: ['source', 'partition_date', 'version', 'recorded_at'],
    runs: ['run_id', 'command_line', 'target', 'started_at', 'ended_at', 'outcome', ...RUN_SUMMARY_COLUMNS],
    failures: ['run_id', 'processor', 'partition_date', 'category', 'message', 'attempt', 'failed_at'],
    batches: ['run_id', 'processor', 'start_date', 'end_date', 'outcome', 'category', 'attempts', 'rows', 'started_at', 'ended_at'],
    checks: CHECKS_COLUMNS,
  },
  noMetaMeansV1: false,
};

/** Creates the ledger schema and tables if absent; idempotent. */
export function ledgerDdl(ledgerSchema: string): string[] {
  const t = (name: LedgerTableName): string => ledgerTable(ledgerSchema, name);
  return [
    `CREATE SCHEMA IF NOT EXISTS ${qualifiedSchema(ledgerSchema)}`,
    `CREATE TABLE IF NOT EXISTS ${t('meta')} (key VARCHAR, value VARCHAR)`,
    `CREATE TABLE IF NOT EXISTS ${t('partitions')} (processor VARCHAR NOT NULL, partition_date DATE NOT NULL, run_id VARCHAR NOT NULL, built_at TIMESTAMP NOT NULL, "rows" BIGINT NOT NULL, code_fingerprint VARCHAR NOT NULL, input_fingerprint VARCHAR NOT NULL, ${TABLE_NAME_COLUMN} VARCHAR)`,
    `CREATE TABLE IF NOT EXISTS ${t('source_versions')} (source VARCHAR NOT NULL, partition_date DATE NOT NULL, version VARCHAR NOT NULL, recorded_at TIMESTAMP NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${t('runs')} (run_id VARCHAR NOT NULL, command_line VARCHAR, target VARCHAR, started_at TIMESTAMP, ended_at TIMESTAMP, outcome VARCHAR, ${RUN_SUMMARY_SQL})`,
    `CREATE TABLE IF NOT EXISTS ${t('batches')} (run_id VARCHAR NOT NULL, processor VARCHAR NOT NULL, start_date DATE NOT NULL, end_date DATE NOT NULL, outcome VARCHAR NOT NULL, category VARCHAR, attempts INTEGER, "rows" BIGINT, started_at TIMESTAMP, ended_at TIMESTAMP)`,
    `CREATE TABLE IF NOT EXISTS ${t('failures')} (run_id VARCHAR NOT NULL, processor VARCHAR NOT NULL, partition_date DATE NOT NULL, category VARCHAR NOT NULL, message VARCHAR, attempt INTEGER, failed_at TIMESTAMP NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${t('checks')} (run_id VARCHAR NOT NULL, processor VARCHAR NOT NULL, partition_date DATE NOT NULL, check_name VARCHAR NOT NULL, severity VARCHAR NOT NULL, offending_rows BIGINT NOT NULL, samples VARCHAR, checked_at TIMESTAMP NOT NULL)`,
    `INSERT INTO ${t('meta')} SELECT 'schema_version', '${LEDGER_SCHEMA_VERSION}' WHERE NOT EXISTS (SELECT 1 FROM ${t('meta')} WHERE key = 'schema_version')`,
  ];
}

/** The columns of `runs` version 3 added: the run's range and its counts, written with its end row. */
const RUN_SUMMARY_TYPES: Readonly<Record<(typeof RUN_SUMMARY_COLUMNS)[number], string>> = {
  range_start: 'DATE',
  range_end: 'DATE',
  built: 'BIGINT',
  failed: 'BIGINT',
  upstream_failed: 'BIGINT',
  blocked: 'BIGINT',
};
const RUN_SUMMARY_SQL = RUN_SUMMARY_COLUMNS.map((c) => `${c} ${RUN_SUMMARY_TYPES[c]}`).join(', ');

/**
 * Migrates an older ledger to the current version in ONE transaction (a crash leaves the old one):
 * creates any table it lacked; from version 1, adds `table_name` and fills it from `tables`
 * (processor name → `schema.table` of the current pipeline; rows of other processors keep NULL,
 * orphaned); from version 2 or 1, adds the run summary columns (NULL for the runs recorded before).
 */
export function migrateStatements(ledgerSchema: string, from: 1 | 2, tables: ReadonlyMap<string, string>): string[] {
  const partitions = ledgerTable(ledgerSchema, 'partitions');
  const mapping = [...tables].map(([processor, table]) => `(${quoteString(processor)}, ${quoteString(table)})`);
  const v1 =
    from > 1
      ? []
      : [
          `ALTER TABLE ${partitions} ADD COLUMN IF NOT EXISTS ${TABLE_NAME_COLUMN} VARCHAR`,
          ...(mapping.length > 0
            ? [
                `UPDATE ${partitions} AS p SET ${TABLE_NAME_COLUMN} = m.table_name FROM (VALUES ${mapping.join(', ')}) AS m(processor, table_name) WHERE p.processor = m.processor AND p.${TABLE_NAME_COLUMN} IS NULL`,
              ]
            : []),
        ];
  return [
    'BEGIN TRANSACTION',
    ...ledgerDdl(ledgerSchema),
    ...v1,
    ...RUN_SUMMARY_COLUMNS.map((c) => `ALTER TABLE ${ledgerTable(ledgerSchema, 'runs')} ADD COLUMN IF NOT EXISTS ${c} ${RUN_SUMMARY_TYPES[c]}`),
    `UPDATE ${ledgerTable(ledgerSchema, 'meta')} SET value = '${LEDGER_SCHEMA_VERSION}' WHERE key = 'schema_version'`,
    'COMMIT',
  ];
}
