/**
 * Reading the run history (`_dag.runs`, `_dag.failures`) on DuckDB: two queries after one that checks
 * the ledger exists (a file dag never ran on has none, and a read-only open must not create it).
 */
import { EMPTY_HISTORY, failureRecordOf, runRecordOf } from '../history-rows.js';
import type { HistoryLimits, RunHistory } from '../port.js';
import type { SerialConnection } from './connection.js';
import { CATALOG, dayExpression, ledgerTable, msExpression, quoteString } from './sql.js';

export function recentRunsSql(ledgerSchema: string, limit: number): string {
  return `SELECT run_id, command_line, target, ${msExpression('started_at')}, ${msExpression('ended_at')}, outcome FROM ${ledgerTable(ledgerSchema, 'runs')} ORDER BY started_at DESC NULLS LAST, run_id DESC LIMIT ${Math.trunc(limit)}`;
}

/** The failures of the runs recentRunsSql lists, newest first; one row more than the limit tells truncation. */
export function recentFailuresSql(ledgerSchema: string, limits: HistoryLimits): string {
  return `SELECT run_id, processor, ${dayExpression('partition_date')}, category, message, attempt, ${msExpression('failed_at')} FROM ${ledgerTable(ledgerSchema, 'failures')} WHERE run_id IN (SELECT run_id FROM (${recentRunsSql(ledgerSchema, limits.runs)})) ORDER BY failed_at DESC, attempt DESC LIMIT ${Math.trunc(limits.failures) + 1}`;
}

export async function readDuckdbHistory(connection: SerialConnection, ledgerSchema: string, limits: HistoryLimits): Promise<RunHistory> {
  const [present = []] = await connection.columns(
    `SELECT count(*) FROM duckdb_tables() WHERE database_name = ${quoteString(CATALOG)} AND schema_name = ${quoteString(ledgerSchema)} AND table_name IN ('runs', 'failures')`,
  );
  if (Number(present[0] ?? 0) < 2) return EMPTY_HISTORY;
  const [ids = [], lines = [], targets = [], started = [], ended = [], outcomes = []] = await connection.columns(recentRunsSql(ledgerSchema, limits.runs));
  const runs = ids.map((id, i) => runRecordOf(id, lines[i], targets[i], started[i], ended[i], outcomes[i]));
  if (runs.length === 0) return EMPTY_HISTORY;
  const [runIds = [], processors = [], days = [], categories = [], messages = [], attempts = [], at = []] = await connection.columns(recentFailuresSql(ledgerSchema, limits));
  const failures = runIds.slice(0, limits.failures).map((runId, i) => failureRecordOf(runId, processors[i], Number(days[i]), categories[i], messages[i], attempts[i], at[i]));
  return { runs, failures, failuresTruncated: runIds.length > limits.failures };
}
