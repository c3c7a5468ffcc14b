/**
 * A command batch on the embedded file. DuckDB lets one process write a file at a time, so the adapter
 * steps aside: (with the gate held exclusively) it marks the batch unfinished in the ledger, closes its
 * instance, lets the command open the file (DAG_DUCKDB_PATH) and write its rows, reopens the file,
 * re-reads the batch's partitions in one query and records the present ones (every one with
 * allow_empty) in the ledger, replacing the markers.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Day } from '../../core/dates.js';
import { tableName } from '../../core/model.js';
import { unfinishedFingerprint } from '../../core/snapshot.js';
import type { BatchJob, BatchOutcome, CommandSpawner } from '../port.js';
import { batchLabel, commandBatchRows, firstLine } from '../shared.js';
import { countStatement } from './batch.js';
import type { OpenDatabase } from './connection.js';
import { partitionRow, replacePartitionRows } from './ledger.js';
import { CATALOG, dateLiteral, quoteString } from './sql.js';

export interface ExclusiveAccess {
  readonly path: string;
  readonly ledgerSchema: string;
  readonly current: OpenDatabase;
  close(): void;
  reopen(): Promise<OpenDatabase>;
}

/** How long to keep retrying to reopen the file after the command exits (a grandchild may still hold it). */
const REOPEN_ATTEMPTS = 50;
const REOPEN_DELAY_MS = 100;

export async function runCommandBatch(access: ExclusiveAccess, job: BatchJob, spawn: CommandSpawner, signal: AbortSignal): Promise<BatchOutcome> {
  const { processor, batch } = job;
  if (!signal.aborted) job.onStarted?.();
  const schemas = await access.current.main.columns(`SELECT schema_name FROM duckdb_schemas() WHERE database_name = ${quoteString(CATALOG)} AND NOT internal ORDER BY 1`);
  const env = {
    DAG_DUCKDB_PATH: access.path,
    DAG_DUCKDB_SCHEMAS: (schemas[0] ?? []).map(String).join(','),
    DAG_TABLE: tableName(processor.table),
    DAG_PARTITION_COLUMN: processor.partitionColumn,
  };
  const where = batchLabel(job);
  if (signal.aborted) return { ok: false, failure: { category: 'CANCELLED', message: `${where}: cancelled before it started` } };
  try {
    await access.current.main.runAll(unfinishedStatements(access.ledgerSchema, job));
  } catch (error) {
    return { ok: false, failure: { category: 'TRANSIENT', message: `${where}: marking the batch in the ledger failed: ${firstLine(error)}` } };
  }
  access.close();
  let failure;
  let db: OpenDatabase;
  try {
    failure = await spawn(env, signal);
  } finally {
    db = await reopen(access);
  }
  if (failure) return { ok: false, failure };
  if (signal.aborted) return { ok: false, failure: { category: 'CANCELLED', message: `${where}: cancelled` } };

  const rowsByDay = new Map<Day, number>();
  const [columns = [], types = []] = await db.main.columns(
    `SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ${quoteString(CATALOG)} AND schema_name = ${quoteString(processor.table.schema)} AND table_name = ${quoteString(processor.table.name)}`,
  );
  const typeIndex = columns.findIndex((name) => name === processor.partitionColumn);
  if (columns.length > 0 && typeIndex < 0)
    return { ok: false, failure: { category: 'PROCESSOR_ERROR', message: `${where}: table ${tableName(processor.table)} has no partition column '${processor.partitionColumn}'` } };
  if (typeIndex >= 0 && types[typeIndex] !== 'DATE')
    return { ok: false, failure: { category: 'PROCESSOR_ERROR', message: `${where}: ${tableName(processor.table)}.${processor.partitionColumn} is ${String(types[typeIndex])}, not DATE` } };
  if (columns.length > 0) {
    // The table exists: its rows per day in start..end.
    const [days = [], counts = []] = await db.main.columns(countStatement(job, true));
    days.forEach((day, i) => rowsByDay.set(day as number, counts[i] as number));
  }

  const { rows, absent } = commandBatchRows(processor, batch.days, rowsByDay);
  const fingerprints = await job.inputFingerprints;
  const values = [...rows].map(([day, count]) => partitionRow(job, day, count, fingerprints.get(day) ?? ''));
  try {
    await db.main.runAll(replaceLedgerRows(access.ledgerSchema, job, values));
  } catch (error) {
    return { ok: false, failure: { category: 'TRANSIENT', message: `${where}: recording the ledger failed: ${firstLine(error)}` } };
  }
  return { ok: true, rows, absent };
}

/**
 * One transaction replacing the ledger rows of the batch's partitions with `rows`. The dates go as an
 * IN list: a command batch's ledger rows are replaced day by day.
 */
function replaceLedgerRows(ledgerSchema: string, job: BatchJob, rows: readonly string[]): string[] {
  const dates = `IN (${job.batch.days.map(dateLiteral).join(', ')})`;
  return ['BEGIN TRANSACTION', ...replacePartitionRows(ledgerSchema, job.processor.table, dates, rows), 'COMMIT'];
}

/**
 * The command writes its rows itself, outside dag's transaction, and dag writes the ledger only after
 * it exits. So before it starts, the batch's ledger rows are replaced by markers: rows -1 (so a
 * partition whose data is absent stays absent) and a code fingerprint no processor has (so one whose
 * data is there is stale, code_changed). If the command fails, times out, or dag dies before the
 * ledger write, the next plan rebuilds these partitions instead of taking half-written ones as fresh;
 * a finished batch replaces the markers with its real ledger rows.
 */
export function unfinishedStatements(ledgerSchema: string, job: BatchJob): string[] {
  const markers = job.batch.days.map((day) => partitionRow(job, day, -1, '', unfinishedFingerprint(job.runId)));
  return replaceLedgerRows(ledgerSchema, job, markers);
}

async function reopen(access: ExclusiveAccess): Promise<OpenDatabase> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await access.reopen();
    } catch (error) {
      if (attempt >= REOPEN_ATTEMPTS) throw error;
      await sleep(REOPEN_DELAY_MS);
    }
  }
}
