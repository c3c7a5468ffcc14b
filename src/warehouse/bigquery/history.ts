/**
 * Reading the run history on BigQuery: `<ledger>.runs` is append-only (a run's start and end are two
 * rows; the latest recorded wins) and `<ledger>.failures` holds one row per attempt. One script job
 * would do, but two plain queries keep the fake server and the dry-run cost simple; both tolerate a
 * ledger that does not exist yet (dag never ran on this project).
 */
import type { BigQuery } from '@google-cloud/bigquery';
import { parseIsoDate } from '../../core/dates.js';
import type { BigqueryTarget } from '../../core/model.js';
import { EMPTY_HISTORY, failureRecordOf, runRecordOf } from '../history-rows.js';
import type { FailureRecord, HistoryLimits, RunHistory } from '../port.js';
import { isNotFound } from './errors.js';
import { runJob, type JobContext, type Row } from './jobs.js';
import { ledgerTable } from './sql.js';


/** The latest row of each run, newest run first (params: @runs). */
export function recentRunsSql(project: string, ledgerDataset: string): string {
  return [
    `SELECT run_id, command_line, target, UNIX_MILLIS(started_at) AS started_ms, UNIX_MILLIS(ended_at) AS ended_ms, outcome`,
    `FROM ${ledgerTable(project, ledgerDataset, 'runs')}`,
    `WHERE TRUE`,
    `QUALIFY ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY recorded_at DESC) = 1`,
    `ORDER BY started_at DESC, run_id DESC`,
    `LIMIT @runs`,
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

export async function readBigqueryHistory(client: BigQuery, target: BigqueryTarget, limits: HistoryLimits, labels: Readonly<Record<string, string>>): Promise<RunHistory> {
  const context = { target, labels };
  const runRows = await rows(client, recentRunsSql(target.project, target.ledgerSchema), { runs: Math.trunc(limits.runs) }, context);
  if (!runRows || runRows.length === 0) return EMPTY_HISTORY;
  const runs = runRows.map((row) => runRecordOf(row.run_id, row.command_line, row.target, row.started_ms, row.ended_ms, row.outcome));
  const failureRows = (await rows(client, recentFailuresSql(target.project, target.ledgerSchema), { run_ids: runs.map((r) => r.runId), limit: Math.trunc(limits.failures) + 1 }, context)) ?? [];
  const failures: FailureRecord[] = [];
  for (const row of failureRows.slice(0, limits.failures)) {
    const day = parseIsoDate(String(row.partition_date));
    if (day === undefined) continue;
    failures.push(failureRecordOf(row.run_id, row.processor, day, row.category, row.message, row.attempt, row.failed_ms));
  }
  return { runs, failures, failuresTruncated: failureRows.length > limits.failures };
}
