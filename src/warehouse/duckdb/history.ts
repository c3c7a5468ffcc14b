/**
 * Reading the run history (`_dag.runs`, `_dag.batches`, `_dag.failures`) on DuckDB, each read a fixed
 * number of queries after one that checks the ledger exists (a file dag never ran on has none, and a
 * read-only open must not create it). A ledger older than version 3 is read without the run summaries
 * and batches it lacks (a read-only open never migrates).
 */
import { EMPTY_HISTORY, batchRecordOf, failureRecordOf, findingRecordOf, partitionFailureOf, runRecordOf, runSummaryOf } from '../history-rows.js';
import { RUN_SUMMARY_COLUMNS } from '../ledger-shape.js';
import {
  RUN_FINDINGS,
  type FailureQuery,
  type HistoryLimits,
  type PartitionFailures,
  type RecordedFinding,
  type RunDetail,
  type RunHistory,
  type RunRecord,
} from '../port.js';
import type { SerialConnection } from './connection.js';
import { CATALOG, dateLiteral, dayExpression, ledgerTable, msExpression, quoteString } from './sql.js';

/** The `runs` columns read, summary columns as NULL where the ledger predates them. */
function runColumns(withSummary: boolean): string {
  const summary = RUN_SUMMARY_COLUMNS.map((c) => (withSummary ? (c.startsWith('range_') ? dayExpression(c) : c) : 'NULL'));
  return `run_id, command_line, target, ${msExpression('started_at')}, ${msExpression('ended_at')}, outcome, ${summary.join(', ')}`;
}

export function recentRunsSql(ledgerSchema: string, limit: number, withSummary = true): string {
  return `SELECT ${runColumns(withSummary)} FROM ${ledgerTable(ledgerSchema, 'runs')} ORDER BY started_at DESC NULLS LAST, run_id DESC LIMIT ${Math.trunc(limit)}`;
}

/** The failures of the runs recentRunsSql lists, newest first; one row more than the limit tells truncation. */
export function recentFailuresSql(ledgerSchema: string, limits: HistoryLimits): string {
  return `SELECT run_id, processor, ${dayExpression('partition_date')}, category, message, attempt, ${msExpression('failed_at')} FROM ${ledgerTable(ledgerSchema, 'failures')} WHERE run_id IN (SELECT run_id FROM (${recentRunsSql(ledgerSchema, limits.runs, false)})) ORDER BY failed_at DESC, attempt DESC LIMIT ${Math.trunc(limits.failures) + 1}`;
}

export function runSql(ledgerSchema: string, runId: string, withSummary: boolean): string {
  return `SELECT ${runColumns(withSummary)} FROM ${ledgerTable(ledgerSchema, 'runs')} WHERE run_id = ${quoteString(runId)}`;
}

export function runBatchesSql(ledgerSchema: string, runId: string): string {
  return `SELECT run_id, processor, ${dayExpression('start_date')}, ${dayExpression('end_date')}, outcome, category, attempts, "rows", ${msExpression('started_at')}, ${msExpression('ended_at')} FROM ${ledgerTable(ledgerSchema, 'batches')} WHERE run_id = ${quoteString(runId)} ORDER BY processor, start_date`;
}

/**
 * Failed partitions: per run, processor and date the last failed attempt, joined with the partition's
 * ledger row when that row is a finished build (not an unfinished marker) made after the failure.
 * A partition the failing run itself built afterwards (a retry, the good half of a split batch) did
 * not fail in that run and is left out: a built batch of that run covers it (`withBatches`: ledger
 * version 3; a NO_OUTPUT day is the one failure a built batch holds), or its ledger row is that run's.
 */
export function failedPartitionsSql(ledgerSchema: string, query: FailureQuery, withBatches = true): string {
  const where: string[] = [];
  if (query.runs !== undefined) where.push(`run_id IN (SELECT run_id FROM (${recentRunsSql(ledgerSchema, query.runs, false)}))`);
  if (query.runId !== undefined) where.push(`run_id = ${quoteString(query.runId)}`);
  if (query.processor !== undefined) where.push(`processor = ${quoteString(query.processor)}`);
  if (query.day !== undefined) where.push(`partition_date = ${dateLiteral(query.day)}`);
  return [
    `WITH f AS (SELECT run_id, processor, partition_date, arg_max(category, attempt) AS category, arg_max(message, attempt) AS message, max(attempt) AS attempt, count(*) AS attempts, max(failed_at) AS failed_at`,
    `  FROM ${ledgerTable(ledgerSchema, 'failures')}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} GROUP BY run_id, processor, partition_date)`,
    `SELECT f.run_id, f.processor, ${dayExpression('f.partition_date')}, f.category, f.message, f.attempt, ${msExpression('f.failed_at')}, f.attempts, p.run_id, ${msExpression('p.built_at')}`,
    `FROM f LEFT JOIN ${ledgerTable(ledgerSchema, 'partitions')} AS p ON p.processor = f.processor AND p.partition_date = f.partition_date AND p."rows" >= 0 AND p.built_at > f.failed_at`,
    `WHERE p.run_id IS DISTINCT FROM f.run_id`,
    ...(withBatches
      ? [
          `  AND NOT EXISTS (SELECT 1 FROM ${ledgerTable(ledgerSchema, 'batches')} AS b WHERE b.run_id = f.run_id AND b.processor = f.processor AND f.partition_date BETWEEN b.start_date AND b.end_date AND b.outcome = 'built' AND f.category <> 'NO_OUTPUT')`,
        ]
      : []),
    `ORDER BY f.failed_at DESC, f.processor, f.partition_date LIMIT ${Math.trunc(query.limit) + 1}`,
  ].join('\n');
}

const FINDING_COLUMNS = `run_id, processor, check_name, severity, ${dayExpression('partition_date')}, offending_rows, samples`;

/** One run's check findings, one row more than RUN_FINDINGS to tell truncation. */
export function runFindingsSql(ledgerSchema: string, runId: string): string {
  return `SELECT ${FINDING_COLUMNS} FROM ${ledgerTable(ledgerSchema, 'checks')} WHERE run_id = ${quoteString(runId)} ORDER BY processor, check_name, severity, partition_date LIMIT ${RUN_FINDINGS + 1}`;
}

/** The findings of the runs recentRunsSql lists, newest first; one row more than the limit tells truncation. */
export function recentFindingsSql(ledgerSchema: string, limits: HistoryLimits): string {
  return `SELECT ${FINDING_COLUMNS} FROM ${ledgerTable(ledgerSchema, 'checks')} WHERE run_id IN (SELECT run_id FROM (${recentRunsSql(ledgerSchema, limits.runs, false)})) ORDER BY checked_at DESC, processor, check_name, partition_date LIMIT ${Math.trunc(limits.failures) + 1}`;
}

/** `checks` rows as findings, the first `limit` of them, and whether there were more. */
async function findingsOf(
  connection: SerialConnection,
  ledgerSchema: string,
  sql: string,
  limit: number,
): Promise<{ checks: RecordedFinding[]; checksTruncated: boolean }> {
  if (!(await ledgerHas(connection, ledgerSchema, ['checks']))) return { checks: [], checksTruncated: false };
  const [runIds = [], processors = [], names = [], severities = [], days = [], offending = [], samples = []] = await connection.columns(sql);
  const checks = runIds.slice(0, limit).map((id, i) => findingRecordOf(id, processors[i], names[i], severities[i], Number(days[i]), offending[i], samples[i]));
  return { checks, checksTruncated: runIds.length > limit };
}

async function ledgerHas(connection: SerialConnection, ledgerSchema: string, tables: readonly string[]): Promise<boolean> {
  const [present = []] = await connection.columns(
    `SELECT count(*) FROM duckdb_tables() WHERE database_name = ${quoteString(CATALOG)} AND schema_name = ${quoteString(ledgerSchema)} AND table_name IN (${tables.map(quoteString).join(', ')})`,
  );
  return Number(present[0] ?? 0) === tables.length;
}

function runsOf(columns: unknown[][]): RunRecord[] {
  const [ids = [], lines = [], targets = [], started = [], ended = [], outcomes = [], ...summary] = columns;
  return ids.map((id, i) => runRecordOf(id, lines[i], targets[i], started[i], ended[i], outcomes[i], runSummaryOf(summary.map((c) => c[i]))));
}

export async function readDuckdbHistory(connection: SerialConnection, ledgerSchema: string, limits: HistoryLimits, withSummary: boolean): Promise<RunHistory> {
  if (!(await ledgerHas(connection, ledgerSchema, ['runs', 'failures']))) return EMPTY_HISTORY;
  const runs = runsOf(await connection.columns(recentRunsSql(ledgerSchema, limits.runs, withSummary)));
  if (runs.length === 0) return EMPTY_HISTORY;
  const [runIds = [], processors = [], days = [], categories = [], messages = [], attempts = [], at = []] = await connection.columns(
    recentFailuresSql(ledgerSchema, limits),
  );
  const failures = runIds
    .slice(0, limits.failures)
    .map((runId, i) => failureRecordOf(runId, processors[i], Number(days[i]), categories[i], messages[i], attempts[i], at[i]));
  const findings = await findingsOf(connection, ledgerSchema, recentFindingsSql(ledgerSchema, limits), limits.failures);
  return { runs, failures, failuresTruncated: runIds.length > limits.failures, ...findings };
}

export async function readDuckdbRun(connection: SerialConnection, ledgerSchema: string, runId: string, withSummary: boolean): Promise<RunDetail | undefined> {
  if (!(await ledgerHas(connection, ledgerSchema, ['runs']))) return undefined;
  const [run] = runsOf(await connection.columns(runSql(ledgerSchema, runId, withSummary)));
  if (!run) return undefined;
  if (!withSummary) return { run, batches: [], checks: [], checksTruncated: false };
  const [ids = [], processors = [], starts = [], ends = [], outcomes = [], categories = [], attempts = [], rows = [], started = [], ended = []] =
    await connection.columns(runBatchesSql(ledgerSchema, runId));
  const batches = ids.map((id, i) =>
    batchRecordOf(id, processors[i], Number(starts[i]), Number(ends[i]), outcomes[i], categories[i], attempts[i], rows[i], started[i], ended[i]),
  );
  return { run, batches, ...(await findingsOf(connection, ledgerSchema, runFindingsSql(ledgerSchema, runId), RUN_FINDINGS)) };
}

export async function readDuckdbFailures(
  connection: SerialConnection,
  ledgerSchema: string,
  query: FailureQuery,
  withBatches: boolean,
): Promise<PartitionFailures> {
  if (!(await ledgerHas(connection, ledgerSchema, ['runs', 'failures', 'partitions']))) return { failures: [], truncated: false };
  const [runIds = [], processors = [], days = [], categories = [], messages = [], attempt = [], at = [], attempts = [], builtBy = [], builtAt = []] =
    await connection.columns(failedPartitionsSql(ledgerSchema, query, withBatches));
  const failures = runIds
    .slice(0, query.limit)
    .map((runId, i) =>
      partitionFailureOf(
        failureRecordOf(runId, processors[i], Number(days[i]), categories[i], messages[i], attempt[i], at[i]),
        attempts[i],
        builtBy[i],
        builtAt[i],
      ),
    );
  return { failures, truncated: runIds.length > query.limit };
}
