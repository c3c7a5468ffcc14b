/**
 * Every SQL string the BigQuery adapter sends, as pure functions of validated values (golden tests pin
 * them). Names are backtick-quoted `project.dataset.table`; dates are DATE literals built from Day
 * numbers; everything a user or the runner supplies (processor names, run ids, fingerprints) travels as
 * a query parameter, never pasted.
 */
import { formatDay, type Day } from '../../core/dates.js';
import type { TableRef } from '../../core/model.js';
import type { SchemaChange } from '../schema-change.js';
import { LEDGER_SCHEMA_VERSION, RUN_SUMMARY_COLUMNS, TABLE_NAME_COLUMN, type LedgerSpec } from '../ledger-shape.js';

/** `project.dataset.table` in backticks. Identifiers come from a validated pipeline (no backticks). */
export function qualified(project: string, table: TableRef): string {
  return `\`${project}.${table.schema}.${table.name}\``;
}

export type LedgerTableName = 'meta' | 'partitions' | 'runs' | 'failures' | 'locks' | 'batches' | 'checks' | 'partitions_relayout';

export function ledgerTable(project: string, ledgerDataset: string, name: LedgerTableName): string {
  return qualified(project, { schema: ledgerDataset, name });
}

/** The columns each ledger table must have (ledger-shape.ts judges the dataset against them). */
export const LEDGER_SPEC: LedgerSpec = {
  tables: {
    meta: ['key', 'value'],
    partitions: ['processor', 'partition_date', 'run_id', 'built_at', 'row_count', 'code_fingerprint', 'input_fingerprint', TABLE_NAME_COLUMN],
    runs: ['run_id', 'command_line', 'target', 'started_at', 'ended_at', 'outcome', 'recorded_at', ...RUN_SUMMARY_COLUMNS],
    failures: ['run_id', 'processor', 'partition_date', 'category', 'message', 'attempt', 'failed_at'],
    locks: ['target', 'run_id', 'pid', 'host', 'since', 'command_line'],
    batches: ['run_id', 'processor', 'start_date', 'end_date', 'outcome', 'category', 'attempts', 'row_count', 'started_at', 'ended_at'],
    checks: ['run_id', 'processor', 'partition_date', 'check_name', 'severity', 'offending_rows', 'samples', 'checked_at'],
  },
  // Ledgers written before version 2 had no meta table.
  noMetaMeansV1: true,
};

export function dateLiteral(day: Day): string {
  return `DATE '${formatDay(day)}'`;
}

/** A column name from a validated pipeline, quoted so reserved words still work. */
export function column(name: string): string {
  return `\`${name}\``;
}

/**
 * Inventory of some tables of one dataset in one query (params: @tables, at most 1,000 names): which
 * exist (with their DDL, whose PARTITION BY says the partitioning granularity), which column
 * partitions each (and its type), and every partition's rows and modification time.
 */
export function inventorySql(project: string, dataset: string): string {
  const view = (name: string) => `\`${project}.${dataset}.INFORMATION_SCHEMA.${name}\``;
  return [
    `SELECT 'table' AS kind, table_name, ddl AS item, CAST(NULL AS INT64) AS total_rows, CAST(NULL AS INT64) AS modified_ms`,
    `FROM ${view('TABLES')} WHERE table_name IN UNNEST(@tables)`,
    `UNION ALL`,
    `SELECT 'column' AS kind, table_name, CONCAT(column_name, ':', data_type) AS item, NULL, NULL`,
    `FROM ${view('COLUMNS')} WHERE table_name IN UNNEST(@tables) AND is_partitioning_column = 'YES'`,
    `UNION ALL`,
    `SELECT 'partition' AS kind, table_name, partition_id AS item, total_rows, UNIX_MILLIS(last_modified_time) AS modified_ms`,
    `FROM ${view('PARTITIONS')} WHERE table_name IN UNNEST(@tables)`,
    `UNION ALL`,
    `SELECT 'expiration' AS kind, table_name, option_value AS item, NULL, NULL`,
    `FROM ${view('TABLE_OPTIONS')} WHERE table_name IN UNNEST(@tables) AND option_name = 'partition_expiration_days'`,
  ].join('\n');
}

/** The ledger dataset's tables and columns, and which is partitioning (INFORMATION_SCHEMA; notFound when the dataset does not exist). */
export function ledgerColumnsSql(project: string, ledgerDataset: string): string {
  return `SELECT table_name, column_name, is_partitioning_column FROM \`${project}.${ledgerDataset}.INFORMATION_SCHEMA.COLUMNS\` ORDER BY table_name, ordinal_position`;
}

/**
 * The ledger's `partitions` layout: partitioned by MONTH of partition_date and clustered by table and
 * processor, so the reads by table touch only that table's blocks, and compaction and retention work
 * per month. MONTH, not DAY: a job may modify at most 4,000 partitions and a table hold 10,000
 * (https://cloud.google.com/bigquery/quotas#partitioned_tables), which a DAY-partitioned ledger of a
 * long history would exceed when it is copied or compacted in one statement.
 */
const PARTITIONS_LAYOUT = `PARTITION BY DATE_TRUNC(partition_date, MONTH) CLUSTER BY ${TABLE_NAME_COLUMN}, processor`;

/**
 * Re-lays out a ledger whose `partitions` predates PARTITIONS_LAYOUT (run under the run lock). A
 * table's partitioning cannot be changed in place (CREATE OR REPLACE refuses another partitioning), so
 * its rows are copied into `partitions_relayout`, `partitions` is recreated from them, and the copy
 * dropped. DDL cannot run in a transaction: `resume` (partitions gone, the copy there: an interrupted
 * re-layout) repeats only the last two steps; a re-layout interrupted earlier is simply repeated.
 */
export function relayoutScript(project: string, ledgerDataset: string, resume = false): string {
  const partitions = ledgerTable(project, ledgerDataset, 'partitions');
  const copy = ledgerTable(project, ledgerDataset, 'partitions_relayout');
  return [
    ...(resume ? [] : [`CREATE OR REPLACE TABLE ${copy} ${PARTITIONS_LAYOUT} AS SELECT * FROM ${partitions};`, `DROP TABLE ${partitions};`]),
    `CREATE TABLE ${partitions} ${PARTITIONS_LAYOUT} AS SELECT * FROM ${copy};`,
    `DROP TABLE ${copy};`,
  ].join('\n');
}

/**
 * `dag ledger compact` (under the run lock): keeps only each partition's latest row — the one every
 * read takes (latestPerPartition) — in one transaction, so a plan reading meanwhile sees the old rows
 * or the kept ones. Returns the row counts before and after.
 */
export function compactLedgerScript(project: string, ledgerDataset: string): string {
  const partitions = ledgerTable(project, ledgerDataset, 'partitions');
  return [
    `CREATE TEMP TABLE _dag_keep AS SELECT * FROM ${partitions} WHERE TRUE`,
    `  ${latestPerPartition(true)};`,
    `CREATE TEMP TABLE _dag_before AS SELECT COUNT(*) AS n FROM ${partitions};`,
    `BEGIN TRANSACTION;`,
    `DELETE FROM ${partitions} WHERE TRUE;`,
    `INSERT INTO ${partitions} SELECT * FROM _dag_keep;`,
    `COMMIT TRANSACTION;`,
    `SELECT (SELECT n FROM _dag_before) AS before_rows, (SELECT COUNT(*) FROM _dag_keep) AS after_rows;`,
  ].join('\n');
}

/** The ledger's recorded version(s). */
export function ledgerVersionSql(project: string, ledgerDataset: string): string {
  return `SELECT value FROM ${ledgerTable(project, ledgerDataset, 'meta')} WHERE key = 'schema_version'`;
}

/**
 * The column ledger rows are matched to processors by: the table since ledger version 2, the
 * processor's name in a version-1 ledger (read as such until a run migrates it).
 */
function keyColumn(byTable: boolean): string {
  return byTable ? TABLE_NAME_COLUMN : 'processor';
}

/** The latest row per partition: the ledger is append-only, and a table's rows may carry several names. */
function latestPerPartition(byTable: boolean): string {
  const key = byTable ? `IFNULL(${TABLE_NAME_COLUMN}, CONCAT('?', processor))` : 'processor';
  return `QUALIFY ROW_NUMBER() OVER (PARTITION BY ${key}, partition_date ORDER BY built_at DESC, run_id DESC) = 1`;
}

/**
 * The latest ledger row of each partition of the given tables (params: @keys: `dataset.table` names,
 * or processor names for a version-1 ledger), whatever processor name recorded it.
 */
export function ledgerSql(project: string, ledgerDataset: string, byTable = true): string {
  return [
    `SELECT ${keyColumn(byTable)} AS ledger_key, CAST(partition_date AS STRING) AS partition_date, run_id, UNIX_MILLIS(built_at) AS built_at_ms,`,
    `  row_count, code_fingerprint, input_fingerprint`,
    `FROM ${ledgerTable(project, ledgerDataset, 'partitions')}`,
    `WHERE ${keyColumn(byTable)} IN UNNEST(@keys)`,
    latestPerPartition(byTable),
  ].join('\n');
}

/**
 * The names and tables the partitions' latest ledger rows were recorded under, with how many: which
 * tables have rows under a former name or no processor at all. Reads only the key columns.
 */
export function ledgerNamesSql(project: string, ledgerDataset: string, byTable = true): string {
  return [
    `SELECT processor, table_name, COUNT(*) AS n FROM (`,
    // WHERE TRUE: BigQuery has required a WHERE, GROUP BY or HAVING beside QUALIFY.
    `  SELECT processor, ${byTable ? TABLE_NAME_COLUMN : `CAST(NULL AS STRING) AS ${TABLE_NAME_COLUMN}`} FROM ${ledgerTable(project, ledgerDataset, 'partitions')} WHERE TRUE`,
    `  ${latestPerPartition(byTable)}`,
    `) GROUP BY processor, table_name`,
  ].join('\n');
}

/**
 * Partitions whose latest failure came after their latest build (params: @names, ARRAY<STRUCT<processor
 * STRING, ledger_key STRING>>). Failures are recorded by processor name; builds are found by the
 * processor's ledger key (its table since version 2).
 */
export function failuresSql(project: string, ledgerDataset: string, byTable = true): string {
  return [
    `SELECT f.processor, CAST(f.partition_date AS STRING) AS partition_date, f.category`,
    `FROM ${ledgerTable(project, ledgerDataset, 'failures')} AS f`,
    `JOIN UNNEST(@names) AS n ON n.processor = f.processor`,
    `LEFT JOIN (`,
    `  SELECT ${keyColumn(byTable)} AS ledger_key, partition_date, MAX(built_at) AS built_at FROM ${ledgerTable(project, ledgerDataset, 'partitions')}`,
    `  WHERE ${keyColumn(byTable)} IN (SELECT k.ledger_key FROM UNNEST(@names) AS k) GROUP BY 1, 2`,
    `) AS l ON l.ledger_key = n.ledger_key AND l.partition_date = f.partition_date`,
    `WHERE l.built_at IS NULL OR f.failed_at > l.built_at`,
    `QUALIFY ROW_NUMBER() OVER (PARTITION BY f.processor, f.partition_date ORDER BY f.failed_at DESC, f.attempt DESC) = 1`,
  ].join('\n');
}

/** The columns version 3 added to `runs`: the run's range and its counts, written with its end row. */
const RUN_SUMMARY_TYPES: Readonly<Record<(typeof RUN_SUMMARY_COLUMNS)[number], string>> = {
  range_start: 'DATE',
  range_end: 'DATE',
  built: 'INT64',
  failed: 'INT64',
  upstream_failed: 'INT64',
  blocked: 'INT64',
};
const RUN_SUMMARY_SQL = RUN_SUMMARY_COLUMNS.map((c) => `${c} ${RUN_SUMMARY_TYPES[c]}`).join(', ');

/**
 * Records the current version in meta (the last step of creating or migrating): `upgrade` replaces
 * an older version's row; otherwise a version already there is left alone.
 */
function recordVersion(project: string, ledgerDataset: string, upgrade = false): string[] {
  const meta = ledgerTable(project, ledgerDataset, 'meta');
  return [
    `CREATE TABLE IF NOT EXISTS ${meta} (key STRING, value STRING);`,
    ...(upgrade ? [`UPDATE ${meta} SET value = '${LEDGER_SCHEMA_VERSION}' WHERE key = 'schema_version';`] : []),
    `INSERT INTO ${meta} (key, value) SELECT 'schema_version', '${LEDGER_SCHEMA_VERSION}' FROM (SELECT 1 AS one)`,
    `WHERE NOT EXISTS (SELECT 1 FROM ${meta} WHERE key = 'schema_version');`,
  ];
}

/**
 * Creates the ledger dataset and tables (DDL; run once per process before the first write). With
 * `withVersion` false (a version-1 ledger, before its migration) meta is left out: it is written last,
 * once table_name is filled, so an interrupted migration is simply repeated.
 */
export function ledgerDdl(project: string, ledgerDataset: string, withVersion = true): string {
  const t = (name: LedgerTableName) => ledgerTable(project, ledgerDataset, name);
  return [
    `CREATE SCHEMA IF NOT EXISTS \`${project}.${ledgerDataset}\`;`,
    `CREATE TABLE IF NOT EXISTS ${t('partitions')} (processor STRING, partition_date DATE, run_id STRING, built_at TIMESTAMP,`,
    `  row_count INT64, code_fingerprint STRING, input_fingerprint STRING, ${TABLE_NAME_COLUMN} STRING) ${PARTITIONS_LAYOUT};`,
    `CREATE TABLE IF NOT EXISTS ${t('runs')} (run_id STRING, command_line STRING, target STRING, started_at TIMESTAMP,`,
    `  ended_at TIMESTAMP, outcome STRING, recorded_at TIMESTAMP, ${RUN_SUMMARY_SQL});`,
    `CREATE TABLE IF NOT EXISTS ${t('batches')} (run_id STRING, processor STRING, start_date DATE, end_date DATE, outcome STRING,`,
    `  category STRING, attempts INT64, row_count INT64, started_at TIMESTAMP, ended_at TIMESTAMP) CLUSTER BY run_id;`,
    `CREATE TABLE IF NOT EXISTS ${t('failures')} (run_id STRING, processor STRING, partition_date DATE, category STRING,`,
    `  message STRING, attempt INT64, failed_at TIMESTAMP) CLUSTER BY processor, partition_date;`,
    `CREATE TABLE IF NOT EXISTS ${t('locks')} (target STRING, run_id STRING, pid INT64, host STRING, since TIMESTAMP,`,
    `  command_line STRING, process_start STRING, command_groups STRING);`,
    `CREATE TABLE IF NOT EXISTS ${t('checks')} (run_id STRING, processor STRING, partition_date DATE, check_name STRING,`,
    `  severity STRING, offending_rows INT64, samples STRING, checked_at TIMESTAMP) CLUSTER BY processor, partition_date;`,
    ...(withVersion ? recordVersion(project, ledgerDataset) : []),
  ].join('\n');
}

/**
 * Migrates an older ledger (from version 1, params: @mapping, ARRAY<STRUCT<processor STRING,
 * table_name STRING>>: the current pipeline's processors and tables; omit it for a pipeline without
 * processors). DDL cannot run inside a BigQuery transaction, so each step is idempotent and the
 * version is recorded last. Version 3's run summary columns are added in one ALTER TABLE.
 */
export function migrateScript(project: string, ledgerDataset: string, from: 1 | 2, withMapping: boolean): string {
  const partitions = ledgerTable(project, ledgerDataset, 'partitions');
  const v1 =
    from > 1
      ? []
      : [
          `ALTER TABLE ${partitions} ADD COLUMN IF NOT EXISTS ${TABLE_NAME_COLUMN} STRING;`,
          ...(withMapping
            ? [
                `UPDATE ${partitions} AS p SET ${TABLE_NAME_COLUMN} = m.table_name FROM UNNEST(@mapping) AS m`,
                `WHERE p.processor = m.processor AND p.${TABLE_NAME_COLUMN} IS NULL;`,
              ]
            : []),
        ];
  return [
    ...v1,
    `ALTER TABLE ${ledgerTable(project, ledgerDataset, 'runs')} ${RUN_SUMMARY_COLUMNS.map((c) => `ADD COLUMN IF NOT EXISTS ${c} ${RUN_SUMMARY_TYPES[c]}`).join(', ')};`,
    ...recordVersion(project, ledgerDataset, from > 1),
  ].join('\n');
}

/** The days an error check failed, as the batch script's `_dag_findings` holds them. */
const FAILED_DAYS = `(SELECT partition_date FROM _dag_findings WHERE severity = 'error')`;

/** A batch's data checks in its script (bigquery/checks.ts writes both statements). */
export interface BatchChecksSql {
  /** `CREATE TEMP TABLE _dag_findings AS ...`: one query per check over `_dag_rows`. */
  readonly findings: string;
  /** Inside the transaction: the findings into `_dag.checks`. */
  readonly record: string;
}

export interface BatchSqlInput {
  readonly project: string;
  readonly ledgerDataset: string;
  readonly table: TableRef;
  readonly partitionColumn: string;
  readonly start: Day;
  readonly end: Day;
  /** The processor's SELECT, rendered (dialect literals and names), trailing semicolons removed. */
  readonly select: string;
  /** Create the dataset and table first (false once the table is known to exist: no DDL at all). */
  readonly createTable?: boolean;
  /** The SELECT's column names, in its order: rows are inserted by name, never by position. */
  readonly columns: readonly string[];
  /** What the table must become first (on_schema_change: add_columns); none when it fits. */
  readonly changes?: readonly SchemaChange[];
  /** The processor's checks: partitions an error check fails are left out of the transaction. */
  readonly checks?: BatchChecksSql;
}

/** The marker in the assertion message that makes a failure OUT_OF_RANGE_ROWS. */
export const OUT_OF_RANGE_MARKER = 'dag:OUT_OF_RANGE_ROWS';

/**
 * The table's schema changes: every added column in one ALTER TABLE (each ALTER is a metadata update,
 * which BigQuery rate-limits per table), one ALTER COLUMN SET DATA TYPE per widened column. IF NOT
 * EXISTS: a batch that failed after adding a column may be sent again.
 */
export function alterTableSql(project: string, table: TableRef, changes: readonly SchemaChange[]): string[] {
  const target = qualified(project, table);
  const adds = changes.flatMap((c) => (c.kind === 'add' ? [`ADD COLUMN IF NOT EXISTS ${column(c.column.name)} ${c.column.type}`] : []));
  return [
    ...(adds.length > 0 ? [`ALTER TABLE ${target} ${adds.join(', ')};`] : []),
    ...changes.flatMap((c) => (c.kind === 'widen' ? [`ALTER TABLE ${target} ALTER COLUMN ${column(c.name)} SET DATA TYPE ${c.to};`] : [])),
  ];
}

/**
 * One script job per batch. The rows are staged in a temp table (the processor's SELECT runs exactly
 * once) and checked; a table that does not exist yet is then created from the staged rows' types
 * (`AS SELECT * FROM _dag_rows WHERE FALSE`: reads no source table), or an existing one altered as the
 * schema check decided; DDL stays outside the transaction, as BigQuery requires ("Transactions cannot
 * use DDL statements that affect permanent entities": https://cloud.google.com/bigquery/docs/transactions).
 * Then data (by column name) and ledger are replaced in one transaction. The final SELECT reports rows
 * per partition. Params: @processor, @table_name (`dataset.table`), @run_id, @built_at (ms), @code_fingerprint,
 * @batch (ARRAY<STRUCT<partition_date DATE, input_fingerprint STRING>>).
 */
export function batchScript(input: BatchSqlInput): string {
  const target = qualified(input.project, input.table);
  const col = column(input.partitionColumn);
  const range = `${col} BETWEEN ${dateLiteral(input.start)} AND ${dateLiteral(input.end)}`;
  const ledger = ledgerTable(input.project, input.ledgerDataset, 'partitions');
  const span = `${formatDay(input.start)}..${formatDay(input.end)}`;
  const ddl =
    input.createTable === false
      ? []
      : [
          `CREATE SCHEMA IF NOT EXISTS \`${input.project}.${input.table.schema}\`;`,
          `CREATE TABLE IF NOT EXISTS ${target} PARTITION BY ${col} AS SELECT * FROM _dag_rows WHERE FALSE;`,
        ];
  const names = input.columns.map(column).join(', ');
  const checks = input.checks;
  // With checks, every write leaves out the days an error check failed (their old rows and ledger rows stay).
  const clean = (what: string, and: boolean): string => (checks ? ` ${and ? 'AND' : 'WHERE'} ${what} NOT IN ${FAILED_DAYS}` : '');
  // The range check rides on the staging statement: ERROR() fails the job on the first row outside
  // the batch (or NULL), before anything is written, and saves a billed ASSERT statement (each
  // statement bills at least 10 MB on demand). IF evaluates ERROR only for the rows that fail it
  // (https://cloud.google.com/bigquery/docs/reference/standard-sql/debugging_functions#error).
  return [
    `CREATE TEMP TABLE _dag_rows AS SELECT * FROM (\n${input.select}\n) WHERE IF(${range}, TRUE,`,
    `  ERROR('${OUT_OF_RANGE_MARKER}: the SELECT yielded rows whose ${input.partitionColumn} is outside ${span} (or NULL)'));`,
    ...(checks ? [checks.findings] : []),
    ...ddl,
    ...alterTableSql(input.project, input.table, input.changes ?? []),
    `BEGIN TRANSACTION;`,
    `DELETE FROM ${target} WHERE ${range}${clean(col, true)};`,
    `INSERT INTO ${target} (${names}) SELECT ${names} FROM _dag_rows${clean(col, false)};`,
    `INSERT INTO ${ledger} (processor, ${TABLE_NAME_COLUMN}, partition_date, run_id, built_at, row_count, code_fingerprint, input_fingerprint)`,
    `SELECT @processor, @table_name, b.partition_date, @run_id, TIMESTAMP_MILLIS(@built_at), IFNULL(c.row_count, 0), @code_fingerprint, b.input_fingerprint`,
    `FROM UNNEST(@batch) AS b`,
    `LEFT JOIN (SELECT ${col} AS partition_date, COUNT(*) AS row_count FROM _dag_rows GROUP BY 1) AS c ON c.partition_date = b.partition_date${clean('b.partition_date', false)};`,
    ...(checks ? [checks.record] : []),
    `COMMIT TRANSACTION;`,
    checks
      ? `SELECT 'rows' AS kind, CAST(${col} AS STRING) AS partition_date, COUNT(*) AS row_count, CAST(NULL AS STRING) AS check_name, CAST(NULL AS STRING) AS severity, CAST(NULL AS STRING) AS sample FROM _dag_rows${clean(col, false)} GROUP BY 2\nUNION ALL\nSELECT 'finding', CAST(partition_date AS STRING), offending, check_name, severity, sample FROM _dag_findings;`
      : `SELECT CAST(${col} AS STRING) AS partition_date, COUNT(*) AS row_count FROM _dag_rows GROUP BY 1;`,
  ].join('\n');
}

/**
 * `--full-refresh`: the table, then its ledger rows, whatever name recorded them (params: @processor, @table_name). BigQuery runs no DDL on a
 * permanent table inside a transaction, so the two cannot commit together; dropping first means an
 * interruption between them leaves ledger rows of an absent table (missing partitions, rebuilt), never
 * a table without ledger rows (taken as built outside dag, fresh).
 */
export function dropProcessorSql(project: string, ledgerDataset: string, table: TableRef): string {
  return [
    `DROP TABLE IF EXISTS ${qualified(project, table)};`,
    `DELETE FROM ${ledgerTable(project, ledgerDataset, 'partitions')} WHERE processor = @processor OR table_name = @table_name;`,
  ].join('\n');
}

/**
 * Rows per partition of one table in a date range, from metadata (params: @table), and the rows
 * still in its streaming buffer (`__UNPARTITIONED__`), whose days metadata cannot tell. For command batches.
 */
export function partitionsOfTableSql(project: string, table: TableRef, start: Day, end: Day): string {
  return [
    `SELECT partition_id, total_rows`,
    `FROM \`${project}.${table.schema}.INFORMATION_SCHEMA.PARTITIONS\``,
    `WHERE table_name = @table AND (partition_id BETWEEN '${formatDay(start).replace(/-/g, '')}' AND '${formatDay(end).replace(/-/g, '')}' OR partition_id = '__UNPARTITIONED__')`,
  ].join('\n');
}

/** Every partition's logical size in one dataset, for `plan --cost` (cost.ts): what a DELETE of it bills. */
export function partitionBytesSql(project: string, dataset: string): string {
  return `SELECT table_name, partition_id, total_logical_bytes FROM \`${project}.${dataset}.INFORMATION_SCHEMA.PARTITIONS\``;
}

/** Ledger rows for a command batch (params as batchScript, @batch also carrying row_count INT64). */
export function commandLedgerSql(project: string, ledgerDataset: string): string {
  return [
    `INSERT INTO ${ledgerTable(project, ledgerDataset, 'partitions')} (processor, ${TABLE_NAME_COLUMN}, partition_date, run_id, built_at, row_count, code_fingerprint, input_fingerprint)`,
    `SELECT @processor, @table_name, b.partition_date, @run_id, TIMESTAMP_MILLIS(@built_at), b.row_count, @code_fingerprint, b.input_fingerprint`,
    `FROM UNNEST(@batch) AS b`,
  ].join('\n');
}

/** A command batch's check findings (params: @run_id, @processor, @built_at, @findings ARRAY<STRUCT<...>>). */
export function commandFindingsSql(project: string, ledgerDataset: string): string {
  return [
    `INSERT INTO ${ledgerTable(project, ledgerDataset, 'checks')} (run_id, processor, partition_date, check_name, severity, offending_rows, samples, checked_at)`,
    `SELECT @run_id, @processor, f.partition_date, f.check_name, f.severity, f.offending_rows, f.samples, TIMESTAMP_MILLIS(@built_at)`,
    `FROM UNNEST(@findings) AS f`,
  ].join('\n');
}

/**
 * Params: @run_id, @command_line, @target, @started_at, @ended_at (ms or -1), @outcome, @range_start and
 * @range_end ('YYYY-MM-DD' or ''), @built, @failed, @upstream_failed, @blocked (or -1). Append-only; the
 * latest row wins.
 */
export function recordRunSql(project: string, ledgerDataset: string): string {
  return [
    `INSERT INTO ${ledgerTable(project, ledgerDataset, 'runs')} (run_id, command_line, target, started_at, ended_at, outcome, recorded_at, ${RUN_SUMMARY_COLUMNS.join(', ')})`,
    `SELECT @run_id, @command_line, @target, TIMESTAMP_MILLIS(@started_at),`,
    `  IF(@ended_at < 0, NULL, TIMESTAMP_MILLIS(@ended_at)), NULLIF(@outcome, ''), CURRENT_TIMESTAMP(),`,
    `  CAST(NULLIF(@range_start, '') AS DATE), CAST(NULLIF(@range_end, '') AS DATE),`,
    `  IF(@built < 0, NULL, @built), IF(@failed < 0, NULL, @failed), IF(@upstream_failed < 0, NULL, @upstream_failed), IF(@blocked < 0, NULL, @blocked)`,
  ].join('\n');
}

/**
 * A run's batches (params: @batches, ARRAY<STRUCT<run_id, processor, start_date, end_date (strings
 * 'YYYY-MM-DD'), outcome, category ('' for none), attempts, row_count, started_ms, ended_ms (-1 for none)>>).
 */
export function recordBatchesSql(project: string, ledgerDataset: string): string {
  return [
    `INSERT INTO ${ledgerTable(project, ledgerDataset, 'batches')} (run_id, processor, start_date, end_date, outcome, category, attempts, row_count, started_at, ended_at)`,
    `SELECT b.run_id, b.processor, CAST(b.start_date AS DATE), CAST(b.end_date AS DATE), b.outcome, NULLIF(b.category, ''), b.attempts,`,
    `  IF(b.row_count < 0, NULL, b.row_count), IF(b.started_ms < 0, NULL, TIMESTAMP_MILLIS(b.started_ms)), IF(b.ended_ms < 0, NULL, TIMESTAMP_MILLIS(b.ended_ms))`,
    `FROM UNNEST(@batches) AS b`,
  ].join('\n');
}

/** Params: @run_id, @processor, @partition_date (DATE), @category, @message, @attempt, @failed_at (ms). */
/** Params: @failures, an array of (run_id, processor, partition_date, category, message, attempt, failed_at ms): any number of rows, one job. */
export function recordFailuresSql(project: string, ledgerDataset: string): string {
  return [
    `INSERT INTO ${ledgerTable(project, ledgerDataset, 'failures')} (run_id, processor, partition_date, category, message, attempt, failed_at)`,
    `SELECT f.run_id, f.processor, f.partition_date, f.category, f.message, f.attempt, TIMESTAMP_MILLIS(f.failed_at)`,
    `FROM UNNEST(@failures) AS f`,
  ].join('\n');
}

/** The lock columns a takeover needs beyond the v2 ledger's (added by ensure when missing). */
export const LOCK_GROUP_COLUMNS = ['process_start', 'command_groups'] as const;

/**
 * Takes the lock row if there is none (params: @target, @run_id, @pid, @host, @since, @command_line,
 * @process_start, @command_groups), then lists the holders. Normally ONE INSERT, atomic on its own and
 * in no transaction: BigQuery aborts concurrent transactions that mutate one table ("Transaction is
 * aborted due to concurrent update", https://cloud.google.com/bigquery/docs/transactions), so a DELETE
 * in every attempt made two runs starting together fail each other. `takeover` (a dead holder's run
 * id in @takeover_run_id) removes its row and inserts ours in one transaction: only then a DELETE.
 */
export function acquireLockScript(project: string, ledgerDataset: string, takeover = false): string {
  const locks = ledgerTable(project, ledgerDataset, 'locks');
  const insert = [
    `INSERT INTO ${locks} (target, run_id, pid, host, since, command_line, process_start, command_groups)`,
    `SELECT @target, @run_id, @pid, @host, TIMESTAMP_MILLIS(@since), @command_line, NULLIF(@process_start, ''), @command_groups FROM (SELECT 1 AS one)`,
    `WHERE NOT EXISTS (SELECT 1 FROM ${locks} WHERE target = @target);`,
  ];
  return [
    ...(takeover
      ? [`BEGIN TRANSACTION;`, `DELETE FROM ${locks} WHERE target = @target AND run_id = @takeover_run_id;`, ...insert, `COMMIT TRANSACTION;`]
      : insert),
    `SELECT run_id, pid, host, UNIX_MILLIS(since) AS since_ms, command_line, process_start, command_groups FROM ${locks} WHERE target = @target ORDER BY since, run_id;`,
  ].join('\n');
}

/** Records the owner's running command process groups in its lock row (params: @target, @run_id, @command_groups JSON). */
export function recordLockGroupsSql(project: string, ledgerDataset: string): string {
  return `UPDATE ${ledgerTable(project, ledgerDataset, 'locks')} SET command_groups = @command_groups WHERE target = @target AND run_id = @run_id`;
}

/** Adds the lock's process columns to a ledger created before them (idempotent; outside any transaction). */
export function lockColumnsDdl(project: string, ledgerDataset: string): string {
  return `ALTER TABLE ${ledgerTable(project, ledgerDataset, 'locks')} ${LOCK_GROUP_COLUMNS.map((c) => `ADD COLUMN IF NOT EXISTS ${c} STRING`).join(', ')}`;
}

/** Params: @target, @run_id. */
export function releaseLockSql(project: string, ledgerDataset: string): string {
  return `DELETE FROM ${ledgerTable(project, ledgerDataset, 'locks')} WHERE target = @target AND run_id = @run_id`;
}
