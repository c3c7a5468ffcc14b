/**
 * Reading the run history on BigQuery: `<ledger>.runs` is append-only (a run's start and end are two
 * rows; the latest recorded wins) and `<ledger>.failures` holds one row per attempt. One script job
 * would do, but two plain queries keep the fake server and the dry-run cost simple; both tolerate a
 * ledger that does not exist yet (dag never ran on this project).
 */
import type { BigQuery } from '@google-cloud/bigquery';
import { formatDay, parseIsoDate } from '../../core/dates.js';
import type { BigqueryTarget } from '../../core/model.js';
import { EMPTY_HISTORY, batchRecordOf, failureRecordOf, findingRecordOf, partitionFailureOf, runRecordOf, runSummaryOf } from '../history-rows.js';
import { RUN_SUMMARY_COLUMNS } from '../ledger-shape.js';
import {
  RUN_FINDINGS,
  type BatchRecord,
  type FailureQuery,
  type FailureRecord,
  type HistoryLimits,
  type PartitionFailure,
  type PartitionFailures,
  type RecordedFinding,
  type RunDetail,
  type RunHistory,
} from '../port.js';
import { isNotFound } from './errors.js';
import { runJob, type JobContext, type Row } from './jobs.js';
import { ledgerTable } from './sql.js';

/** The `runs` columns read, summary columns as NULL where the ledger predates them (dates as strings). */
function runColumns(withSummary: boolean): string {
  const summary = RUN_SUMMARY_COLUMNS.map((c) => (withSummary ? (c.startsWith('range_') ? `CAST(${c} AS STRING) AS ${c}` : c) : `NULL AS ${c}`));
  return `run_id, command_line, target, UNIX_MILLIS(started_at) AS started_ms, UNIX_MILLIS(ended_at) AS ended_ms, outcome, ${summary.join(', ')}`;
}

/** The latest row of each run, newest run first (params: @runs). */
export function recentRunsSql(project: string, ledgerDataset: string, withSummary = true): string {
  return [
    `SELECT ${runColumns(withSummary)}`,
    `FROM ${ledgerTable(project, ledgerDataset, 'runs')}`,
    `WHERE TRUE`,
    `QUALIFY ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY recorded_at DESC) = 1`,
    `ORDER BY started_at DESC, run_id DESC`,
    `LIMIT @runs`,
  ].join('\n');
}

/** One run's latest row (params: @run_id). */
export function runSql(project: string, ledgerDataset: string, withSummary: boolean): string {
  return [
    `SELECT ${runColumns(withSummary)}`,
    `FROM ${ledgerTable(project, ledgerDataset, 'runs')}`,
    `WHERE run_id = @run_id`,
    `QUALIFY ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY recorded_at DESC) = 1`,
  ].join('\n');
}

/** One run's batches (params: @run_id). */
export function runBatchesSql(project: string, ledgerDataset: string): string {
  return [
    `SELECT run_id, processor, CAST(start_date AS STRING) AS start_date, CAST(end_date AS STRING) AS end_date, outcome, category, attempts, row_count,`,
    `  UNIX_MILLIS(started_at) AS started_ms, UNIX_MILLIS(ended_at) AS ended_ms`,
    `FROM ${ledgerTable(project, ledgerDataset, 'batches')}`,
    `WHERE run_id = @run_id`,
    `ORDER BY processor, start_date`,
  ].join('\n');
}

/**
 * Check findings (params: @limit, one more than wanted to tell truncation, and @run_id or @run_ids):
 * one run's by processor, check and date, or the given runs' newest first.
 */
export function findingsSql(project: string, ledgerDataset: string, oneRun: boolean): string {
  return [
    `SELECT run_id, processor, check_name, severity, CAST(partition_date AS STRING) AS partition_date, offending_rows, samples`,
    `FROM ${ledgerTable(project, ledgerDataset, 'checks')}`,
    oneRun ? `WHERE run_id = @run_id` : `WHERE run_id IN UNNEST(@run_ids)`,
    oneRun ? `ORDER BY processor, check_name, severity, partition_date` : `ORDER BY checked_at DESC, processor, check_name, partition_date`,
    `LIMIT @limit`,
  ].join('\n');
}

/** `checks` rows as findings, the first `limit` of them, and whether there were more. */
function findingsOf(found: readonly Row[], limit: number): { checks: RecordedFinding[]; checksTruncated: boolean } {
  const checks: RecordedFinding[] = [];
  for (const f of found.slice(0, limit)) {
    const day = dayOf(f.partition_date);
    if (day !== undefined) checks.push(findingRecordOf(f.run_id, f.processor, f.check_name, f.severity, day, f.offending_rows, f.samples));
  }
  return { checks, checksTruncated: found.length > limit };
}

/**
 * Failed partitions (params: @limit, and those the filters name: @runs, @run_id, @processor,
 * @partition_date): per run, processor and date the last failed attempt, with the partition's latest
 * ledger row when it is a finished build made after the failure. A partition the failing run itself
 * built afterwards (a retry, the good half of a split batch) did not fail in that run and is left out:
 * a built batch of that run covers it (`withBatches`: ledger version 3; a NO_OUTPUT day is the one
 * failure a built batch holds), or its latest ledger row is that run's.
 */
export function failedPartitionsSql(
  project: string,
  ledgerDataset: string,
  filters: { runs: boolean; runId: boolean; processor: boolean; day: boolean },
  withBatches = true,
): string {
  const where = [
    ...(filters.runs ? [`run_id IN (SELECT run_id FROM (${recentRunsSql(project, ledgerDataset, false)}))`] : []),
    ...(filters.runId ? ['run_id = @run_id'] : []),
    ...(filters.processor ? ['processor = @processor'] : []),
    ...(filters.day ? ['partition_date = CAST(@partition_date AS DATE)'] : []),
  ];
  return [
    `WITH f AS (`,
    `  SELECT run_id, processor, partition_date, category, message, attempt, failed_at,`,
    `    COUNT(*) OVER (PARTITION BY run_id, processor, partition_date) AS attempts`,
    `  FROM ${ledgerTable(project, ledgerDataset, 'failures')}`,
    `  WHERE ${where.length > 0 ? where.join(' AND ') : 'TRUE'}`,
    `  QUALIFY ROW_NUMBER() OVER (PARTITION BY run_id, processor, partition_date ORDER BY attempt DESC, failed_at DESC) = 1`,
    `), p AS (`,
    `  SELECT processor, partition_date, run_id, built_at, row_count FROM ${ledgerTable(project, ledgerDataset, 'partitions')}`,
    `  WHERE processor IN (SELECT processor FROM f)`,
    `  QUALIFY ROW_NUMBER() OVER (PARTITION BY processor, partition_date ORDER BY built_at DESC, run_id DESC) = 1`,
    `)`,
    `SELECT f.run_id, f.processor, CAST(f.partition_date AS STRING) AS partition_date, f.category, f.message, f.attempt, UNIX_MILLIS(f.failed_at) AS failed_ms, f.attempts,`,
    `  IF(p.row_count >= 0 AND p.built_at > f.failed_at, p.run_id, NULL) AS built_by, IF(p.row_count >= 0 AND p.built_at > f.failed_at, UNIX_MILLIS(p.built_at), NULL) AS built_ms`,
    `FROM f LEFT JOIN p ON p.processor = f.processor AND p.partition_date = f.partition_date`,
    `WHERE (NOT (p.row_count >= 0 AND p.built_at > f.failed_at AND p.run_id = f.run_id) OR p.run_id IS NULL)`,
    ...(withBatches
      ? [
          `  AND NOT EXISTS (SELECT 1 FROM ${ledgerTable(project, ledgerDataset, 'batches')} AS b WHERE b.run_id = f.run_id AND b.processor = f.processor`,
          `    AND f.partition_date BETWEEN b.start_date AND b.end_date AND b.outcome = 'built' AND f.category != 'NO_OUTPUT')`,
        ]
      : []),
    `ORDER BY f.failed_at DESC, f.processor, f.partition_date`,
    `LIMIT @limit`,
  ].join('\n');
}

/** Failure rows of the given runs, newest first (params: @run_ids, @limit: one more than wanted, to tell truncation). */
export function recentFailuresSql(project: string, ledgerDataset: string): string {
  return [
    `SELECT run_id, processor, CAST(partition_date AS STRING) AS partition_date, category, message, attempt, UNIX_MILLIS(failed_at) AS failed_ms`,
    `FROM ${ledgerTable(project, ledgerDataset, 'failures')}`,
    `WHERE run_id IN UNNEST(@run_ids)`,
    `ORDER BY failed_at DESC, attempt DESC`,
    `LIMIT @limit`,
  ].join('\n');
}

async function rows(client: BigQuery, sql: string, params: Record<string, unknown>, context: JobContext): Promise<Row[] | undefined> {
  try {
    return await runJob(client, sql, params, context);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

const dayOf = (value: unknown): number | undefined => (value === null || value === undefined ? undefined : parseIsoDate(String(value)));

function runOf(row: Row) {
  return runRecordOf(
    row.run_id,
    row.command_line,
    row.target,
    row.started_ms,
    row.ended_ms,
    row.outcome,
    runSummaryOf(RUN_SUMMARY_COLUMNS.map((c) => (c.startsWith('range_') ? dayOf(row[c]) : row[c]))),
  );
}

export async function readBigqueryHistory(
  client: BigQuery,
  target: BigqueryTarget,
  limits: HistoryLimits,
  labels: Readonly<Record<string, string>>,
  withSummary: boolean,
): Promise<RunHistory> {
  const context = { target, labels };
  const runRows = await rows(client, recentRunsSql(target.project, target.ledgerSchema, withSummary), { runs: Math.trunc(limits.runs) }, context);
  if (!runRows || runRows.length === 0) return EMPTY_HISTORY;
  const runs = runRows.map(runOf);
  const failureRows =
    (await rows(
      client,
      recentFailuresSql(target.project, target.ledgerSchema),
      { run_ids: runs.map((r) => r.runId), limit: Math.trunc(limits.failures) + 1 },
      context,
    )) ?? [];
  const failures: FailureRecord[] = [];
  for (const row of failureRows.slice(0, limits.failures)) {
    const day = parseIsoDate(String(row.partition_date));
    if (day === undefined) continue;
    failures.push(failureRecordOf(row.run_id, row.processor, day, row.category, row.message, row.attempt, row.failed_ms));
  }
  const findings = withSummary
    ? ((await rows(
        client,
        findingsSql(target.project, target.ledgerSchema, false),
        { run_ids: runs.map((r) => r.runId), limit: Math.trunc(limits.failures) + 1 },
        context,
      )) ?? [])
    : [];
  return { runs, failures, failuresTruncated: failureRows.length > limits.failures, ...findingsOf(findings, limits.failures) };
}

export async function readBigqueryRun(
  client: BigQuery,
  target: BigqueryTarget,
  runId: string,
  labels: Readonly<Record<string, string>>,
  withSummary: boolean,
): Promise<RunDetail | undefined> {
  const context = { target, labels };
  const [row] = (await rows(client, runSql(target.project, target.ledgerSchema, withSummary), { run_id: runId }, context)) ?? [];
  if (!row) return undefined;
  const run = runOf(row);
  if (!withSummary) return { run, batches: [], checks: [], checksTruncated: false };
  const batches: BatchRecord[] = [];
  for (const b of (await rows(client, runBatchesSql(target.project, target.ledgerSchema), { run_id: runId }, context)) ?? []) {
    const start = dayOf(b.start_date);
    const end = dayOf(b.end_date);
    if (start === undefined || end === undefined) continue;
    batches.push(batchRecordOf(b.run_id, b.processor, start, end, b.outcome, b.category, b.attempts, b.row_count, b.started_ms, b.ended_ms));
  }
  const found = (await rows(client, findingsSql(target.project, target.ledgerSchema, true), { run_id: runId, limit: RUN_FINDINGS + 1 }, context)) ?? [];
  return { run, batches, ...findingsOf(found, RUN_FINDINGS) };
}

export async function readBigqueryFailures(
  client: BigQuery,
  target: BigqueryTarget,
  query: FailureQuery,
  labels: Readonly<Record<string, string>>,
  withBatches: boolean,
): Promise<PartitionFailures> {
  const filters = { runs: query.runs !== undefined, runId: query.runId !== undefined, processor: query.processor !== undefined, day: query.day !== undefined };
  const params: Record<string, unknown> = { limit: Math.trunc(query.limit) + 1 };
  if (query.runs !== undefined) params.runs = Math.trunc(query.runs);
  if (query.runId !== undefined) params.run_id = query.runId;
  if (query.processor !== undefined) params.processor = query.processor;
  if (query.day !== undefined) params.partition_date = formatDay(query.day);
  const found = (await rows(client, failedPartitionsSql(target.project, target.ledgerSchema, filters, withBatches), params, { target, labels })) ?? [];
  const failures: PartitionFailure[] = [];
  for (const row of found.slice(0, query.limit)) {
    const day = dayOf(row.partition_date);
    if (day === undefined) continue;
    failures.push(
      partitionFailureOf(
        failureRecordOf(row.run_id, row.processor, day, row.category, row.message, row.attempt, row.failed_ms),
        row.attempts,
        row.built_by,
        row.built_ms,
      ),
    );
  }
  return { failures, truncated: found.length > query.limit };
}
