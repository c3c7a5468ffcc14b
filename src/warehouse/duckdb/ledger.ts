/**
 * The ledger: its check on open (version and shape, migrating version 1), the `partitions` rows
 * batches write (as statements for the batch's own transaction), and runs, failures and recorded
 * source versions.
 */
import { dateValue, timestampValue } from './node-api.js';
import type { Day } from '../../core/dates.js';
import { tableName, type DuckdbTarget, type Pipeline, type Source, type TableRef } from '../../core/model.js';
import type { RecordedVersions, Snapshot } from '../../core/snapshot.js';
import { judgeLedger, RUN_SUMMARY_COLUMNS, type LedgerState } from '../ledger-shape.js';
import type { BatchJob, BatchRecord, FailureRecord, RunRecord } from '../port.js';
import { firstLine, readersBySource } from '../shared.js';
import { classifyDuckdbError, type SerialConnection } from './connection.js';
import { sourceVersionsSql } from './snapshot.js';
import { CATALOG, dateLiteral, dayExpression, LEDGER_SPEC, ledgerDdl, ledgerTable, migrateStatements, quoteString, timestampLiteral } from './sql.js';

/**
 * Reads the ledger schema's tables, columns and version (two cheap catalog reads) and judges them:
 * throws WarehouseError('bad-ledger') naming the table and column for a newer or damaged ledger.
 */
export async function inspectLedger(main: SerialConnection, target: DuckdbTarget): Promise<LedgerState> {
  const schema = target.ledgerSchema;
  const [tables = [], names = []] = await main.columns(
    `SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = ${quoteString(CATALOG)} AND schema_name = ${quoteString(schema)} ORDER BY table_name, column_index`,
  );
  const columns = new Map<string, string[]>();
  tables.forEach((table, i) => {
    const list = columns.get(String(table)) ?? [];
    list.push(String(names[i]));
    columns.set(String(table), list);
  });
  const meta = columns.get('meta')?.map((c) => c.toLowerCase()) ?? [];
  let versions: string[] = [];
  if (meta.includes('key') && meta.includes('value')) {
    const [values = []] = await main.columns(`SELECT value FROM ${ledgerTable(schema, 'meta')} WHERE key = 'schema_version'`);
    versions = values.map(String);
  }
  return judgeLedger(
    LEDGER_SPEC,
    { columns, versions },
    {
      describe: `the ledger of target '${target.name}' (schema ${schema} in ${target.path})`,
      table: (name) => `${schema}.${name}`,
      startOver: `DROP SCHEMA ${schema} CASCADE`,
      key: 'ledger_schema',
    },
  );
}

/** Creates an absent ledger (one transaction); a present one is left alone. */
export async function createLedger(main: SerialConnection, ledgerSchema: string): Promise<void> {
  await main.runAll(['BEGIN TRANSACTION', ...ledgerDdl(ledgerSchema), 'COMMIT']);
}

/** Migrates an older ledger with the pipeline's processor → table mapping (one transaction). */
export async function migrateLedger(main: SerialConnection, ledgerSchema: string, from: 'v1' | 'v2', pipeline: Pipeline): Promise<void> {
  await main.runAll(migrateStatements(ledgerSchema, from === 'v1' ? 1 : 2, new Map(pipeline.processors.map((p) => [p.name, tableName(p.table)]))));
}

const PARTITION_COLUMNS = '(processor, partition_date, run_id, built_at, "rows", code_fingerprint, input_fingerprint, table_name)';

/** One `partitions` row of a batch's partition as a VALUES tuple, in PARTITION_COLUMNS order. */
export function partitionRow(job: BatchJob, day: Day, rows: number, inputFingerprint: string, codeFingerprint = job.codeFingerprint): string {
  return `(${quoteString(job.processor.name)}, ${dateLiteral(day)}, ${quoteString(job.runId)}, ${timestampLiteral(job.builtAt)}, ${rows}, ${quoteString(codeFingerprint)}, ${quoteString(inputFingerprint)}, ${quoteString(tableName(job.processor.table))})`;
}

/**
 * Replaces the `partitions` rows of a table whose partition_date matches `dates` (e.g. `BETWEEN ...`)
 * with `rows`, whatever processor name recorded them (a renamed processor's old rows included).
 */
export function replacePartitionRows(ledgerSchema: string, table: TableRef, dates: string, rows: readonly string[]): string[] {
  const ledger = ledgerTable(ledgerSchema, 'partitions');
  return [
    `DELETE FROM ${ledger} WHERE table_name = ${quoteString(tableName(table))} AND partition_date ${dates}`,
    ...(rows.length > 0 ? [`INSERT INTO ${ledger} ${PARTITION_COLUMNS} VALUES ${rows.join(', ')}`] : []),
  ];
}

/**
 * Records the current version of every source partition whose latest recorded version differs, stamped
 * `at`. Versions the snapshot read (changedAt Infinity marks the changed ones) go through the appender
 * (a first run may record millions); versions it left pending are computed and recorded by DuckDB in
 * one round trip per source and returned, for the input fingerprints.
 */
export async function recordSourceVersions(
  connection: SerialConnection,
  ledgerSchema: string,
  pipeline: Pipeline,
  snapshot: Snapshot,
  at: number,
): Promise<RecordedVersions> {
  const pending = snapshot.pendingVersions ?? new Set<string>();
  const micros = BigInt(Math.round(at)) * 1000n;
  await connection.append(CATALOG, ledgerSchema, 'source_versions', (appender) => {
    for (const source of pipeline.sources) {
      const inventory = snapshot.tables.get(source.name);
      // An unreadable table's inventory (core/unreadable.ts) is what the plan assumed, not what it holds.
      if (!inventory || pending.has(source.name) || snapshot.unreadable?.has(source.name)) continue;
      for (const [day, info] of inventory.partitions) {
        if (info.changedAt !== Infinity) continue;
        appender.appendVarchar(source.name);
        appender.appendDate(dateValue(day));
        appender.appendVarchar(info.version);
        appender.appendTimestamp(timestampValue(micros));
        appender.endRow();
      }
    }
  });
  const versions = new Map<string, Map<Day, string>>();
  const failed = new Map<string, string>();
  const readers = readersBySource([...pipeline.sources, ...pipeline.processors]);
  for (const source of pipeline.sources) {
    // A source no processor reads (a calendar, say) never makes anything stale: nothing to record.
    const read = (readers.get(source.name)?.length ?? 0) > 0;
    if (!pending.has(source.name) || !read || snapshot.tables.get(source.name)?.exists !== true) continue;
    try {
      const [days = [], texts = []] = await connection.columns(pendingVersionStatements(ledgerSchema, source, at).join(';\n'));
      versions.set(source.name, new Map(days.map((day, i) => [day as number, String(texts[i])])));
    } catch (error) {
      if (classifyDuckdbError(error) === 'CANCELLED') throw error;
      failed.set(source.name, firstLine(error));
    }
  }
  return { versions, failed };
}

const COMPUTED = 'temp.main.dag_source_versions';

/** Computes a source's versions, appends those that differ from the latest recorded, returns them all. */
export function pendingVersionStatements(ledgerSchema: string, source: Source, at: number): string[] {
  const recorded = ledgerTable(ledgerSchema, 'source_versions');
  return [
    `CREATE OR REPLACE TEMP TABLE dag_source_versions AS ${sourceVersionsSql(source)}`,
    `INSERT INTO ${recorded} (source, partition_date, version, recorded_at) SELECT ${quoteString(source.name)}, v.partition_date, v.version, ${timestampLiteral(at)} FROM ${COMPUTED} AS v LEFT JOIN (SELECT partition_date, arg_max(version, recorded_at) AS version FROM ${recorded} WHERE source = ${quoteString(source.name)} GROUP BY 1) AS r ON r.partition_date = v.partition_date WHERE r.version IS DISTINCT FROM v.version`,
    `SELECT ${dayExpression('partition_date')}, version FROM ${COMPUTED}`,
  ];
}

const nullable = (value: string | undefined): string => (value === undefined ? 'NULL' : value);
const intOrNull = (value: number | undefined): string => (value === undefined ? 'NULL' : String(Math.trunc(value)));

export function recordRunStatements(ledgerSchema: string, run: RunRecord): string[] {
  const runs = ledgerTable(ledgerSchema, 'runs');
  const s = run.summary;
  const summary = s
    ? [dateLiteral(s.range.start), dateLiteral(s.range.end), ...[s.built, s.failed, s.upstreamFailed, s.blocked].map(intOrNull)]
    : RUN_SUMMARY_COLUMNS.map(() => 'NULL');
  return [
    'BEGIN TRANSACTION',
    `DELETE FROM ${runs} WHERE run_id = ${quoteString(run.runId)}`,
    `INSERT INTO ${runs} (run_id, command_line, target, started_at, ended_at, outcome, ${RUN_SUMMARY_COLUMNS.join(', ')}) VALUES (${quoteString(run.runId)}, ${quoteString(run.commandLine)}, ${quoteString(run.target)}, ${timestampLiteral(run.startedAt)}, ${nullable(
      run.endedAt === undefined ? undefined : timestampLiteral(run.endedAt),
    )}, ${nullable(run.outcome === undefined ? undefined : quoteString(run.outcome))}, ${summary.join(', ')})`,
    'COMMIT',
  ];
}

/** One multi-row INSERT for any number of failure rows. */
export function recordFailuresStatement(ledgerSchema: string, failures: readonly FailureRecord[]): string {
  const rows = failures.map(
    (failure) =>
      `(${quoteString(failure.runId)}, ${quoteString(failure.processor)}, ${dateLiteral(failure.day)}, ${quoteString(failure.category)}, ${quoteString(failure.message)}, ${Math.trunc(failure.attempt)}, ${timestampLiteral(failure.at)})`,
  );
  return `INSERT INTO ${ledgerTable(ledgerSchema, 'failures')} (run_id, processor, partition_date, category, message, attempt, failed_at) VALUES ${rows.join(', ')}`;
}

/** Rows per INSERT of `batches`: a backfill of years, one partition a batch, stays a few statements. */
const BATCH_ROWS_PER_INSERT = 1000;

export function recordBatchesStatements(ledgerSchema: string, batches: readonly BatchRecord[]): string[] {
  const table = ledgerTable(ledgerSchema, 'batches');
  const statements: string[] = [];
  for (let i = 0; i < batches.length; i += BATCH_ROWS_PER_INSERT) {
    const rows = batches
      .slice(i, i + BATCH_ROWS_PER_INSERT)
      .map(
        (b) =>
          `(${quoteString(b.runId)}, ${quoteString(b.processor)}, ${dateLiteral(b.start)}, ${dateLiteral(b.end)}, ${quoteString(b.outcome)}, ${nullable(b.category === undefined ? undefined : quoteString(b.category))}, ${Math.trunc(b.attempts)}, ${intOrNull(b.rows)}, ${nullable(
            b.startedAt === undefined ? undefined : timestampLiteral(b.startedAt),
          )}, ${nullable(b.endedAt === undefined ? undefined : timestampLiteral(b.endedAt))})`,
      );
    statements.push(
      `INSERT INTO ${table} (run_id, processor, start_date, end_date, outcome, category, attempts, "rows", started_at, ended_at) VALUES ${rows.join(', ')}`,
    );
  }
  return statements.length > 0 ? ['BEGIN TRANSACTION', ...statements, 'COMMIT'] : [];
}
