/**
 * The DuckDB side of a command batch (the protocol itself is runner/command.ts). DuckDB lets one
 * process write a file at a time, so while the runner holds the file exclusively the adapter marks the
 * batch unfinished in the ledger, closes its instance and lets the command open the file
 * (DAG_DUCKDB_PATH); once the command has ended it reopens the file, re-reads the batch's partitions in
 * one query and records the present ones in the ledger, replacing the markers.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Day } from '../../core/dates.js';
import { tableName } from '../../core/model.js';
import { unfinishedFingerprint } from '../../core/snapshot.js';
import { done, failed, type BatchJob, type CheckFinding, type InputFingerprints, type RowCounts, type Step } from '../port.js';
import { batchLabel, firstLine } from '../shared.js';
import { countStatement, failedDays } from './batch.js';
import { batchRows, findingStatements, runChecks } from './checks.js';
import { duckdbFailure, type OpenDatabase } from './connection.js';
import { partitionRow, replacePartitionRows } from './ledger.js';
import { CATALOG, dateLiteral, quoteString } from './sql.js';

/** How long to keep retrying to reopen the file after the command ended (a grandchild may still hold it). */
const REOPEN_ATTEMPTS = 50;
const REOPEN_DELAY_MS = 100;

export async function markUnfinished(db: OpenDatabase, ledgerSchema: string, job: BatchJob): Promise<Step<void>> {
  try {
    await db.main.runAll(unfinishedStatements(ledgerSchema, job));
    return done(undefined);
  } catch (error) {
    return failed({ category: 'TRANSIENT', message: `${batchLabel(job)}: marking the batch unfinished in the ledger failed: ${firstLine(error)}` });
  }
}

/** What the command needs to find its table in the file; read before dag closes it. */
export async function commandEnv(db: OpenDatabase, path: string, job: BatchJob): Promise<Record<string, string>> {
  const { processor } = job;
  const schemas = await db.main.columns(`SELECT schema_name FROM duckdb_schemas() WHERE database_name = ${quoteString(CATALOG)} AND NOT internal ORDER BY 1`);
  return {
    DAG_DUCKDB_PATH: path,
    DAG_DUCKDB_SCHEMAS: (schemas[0] ?? []).map(String).join(','),
    DAG_TABLE: tableName(processor.table),
    DAG_PARTITION_COLUMN: processor.partitionColumn,
  };
}

export async function reopenRetrying(reopen: () => Promise<OpenDatabase>): Promise<OpenDatabase> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await reopen();
    } catch (error) {
      if (attempt >= REOPEN_ATTEMPTS) throw error;
      await sleep(REOPEN_DELAY_MS);
    }
  }
}

/** Rows per day of the batch's range in the processor's table; none when the command left no table. */
export async function readPartitions(db: OpenDatabase, job: BatchJob): Promise<Step<RowCounts>> {
  const { processor } = job;
  const where = batchLabel(job);
  try {
    const [columns = [], types = []] = await db.main.columns(
      `SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ${quoteString(CATALOG)} AND schema_name = ${quoteString(processor.table.schema)} AND table_name = ${quoteString(processor.table.name)}`,
    );
    const typeIndex = columns.indexOf(processor.partitionColumn);
    if (columns.length > 0 && typeIndex < 0)
      return failed({
        category: 'PROCESSOR_ERROR',
        message: `${where}: table ${tableName(processor.table)} has no partition column '${processor.partitionColumn}'`,
        dataIndependent: true,
      });
    if (typeIndex >= 0 && types[typeIndex] !== 'DATE')
      return failed({
        category: 'PROCESSOR_ERROR',
        message: `${where}: ${tableName(processor.table)}.${processor.partitionColumn} is ${String(types[typeIndex])}, not DATE`,
        dataIndependent: true,
      });
    const rowsByDay = new Map<Day, number>();
    if (columns.length > 0) {
      const [days = [], counts = []] = await db.main.columns(countStatement(job, true));
      days.forEach((day, i) => {
        rowsByDay.set(day as number, counts[i] as number);
      });
    }
    return done(rowsByDay);
  } catch (error) {
    return failed(duckdbFailure(error, `${where}: reading the partitions the command wrote failed: ${firstLine(error)}`));
  }
}

/**
 * The processor's checks over the batch's partitions as the command left them (its rows are in the
 * table already: a failing partition keeps its unfinished marker instead of being taken back).
 */
export async function checkPartitions(db: OpenDatabase, job: BatchJob): Promise<Step<readonly CheckFinding[]>> {
  if (job.processor.checks.length === 0) return done([]);
  const found = await runChecks(db.main, job, batchRows(job));
  return found.ok ? found : failed({ ...found.failure, message: `${batchLabel(job)}: ${found.failure.message}` });
}

/** The ledger rows and check findings in one transaction; days an error check failed keep their markers. */
export async function recordPartitions(
  db: OpenDatabase,
  ledgerSchema: string,
  job: BatchJob,
  rows: RowCounts,
  fingerprints: InputFingerprints,
  findings: readonly CheckFinding[] = [],
): Promise<Step<void>> {
  const values = [...rows].map(([day, count]) => partitionRow(job, day, count, fingerprints.get(day) ?? ''));
  const failedChecks = failedDays(findings);
  const days = job.batch.days.filter((day) => !failedChecks.includes(day));
  try {
    await db.main.runAll([...replaceLedgerRows(ledgerSchema, job, values, days).slice(0, -1), ...findingStatements(ledgerSchema, job, findings), 'COMMIT']);
    return done(undefined);
  } catch (error) {
    return failed({ category: 'TRANSIENT', message: `${batchLabel(job)}: recording the ledger failed: ${firstLine(error)}` });
  }
}

/**
 * One transaction replacing the ledger rows of the batch's partitions with `rows`. The dates go as an
 * IN list: a command batch's ledger rows are replaced day by day.
 */
function replaceLedgerRows(ledgerSchema: string, job: BatchJob, rows: readonly string[], days: readonly Day[] = job.batch.days): string[] {
  if (days.length === 0) return ['BEGIN TRANSACTION', 'COMMIT'];
  const dates = `IN (${days.map(dateLiteral).join(', ')})`;
  return ['BEGIN TRANSACTION', ...replacePartitionRows(ledgerSchema, job.processor.table, dates, rows), 'COMMIT'];
}

/**
 * The batch's markers (port.ts CommandSteps.markUnfinished): rows -1, so a partition whose data is
 * absent stays absent, and a code fingerprint no processor has, so one whose data is there is stale
 * (code_changed); a finished batch replaces them with its real ledger rows.
 */
export function unfinishedStatements(ledgerSchema: string, job: BatchJob): string[] {
  const markers = job.batch.days.map((day) => partitionRow(job, day, -1, '', unfinishedFingerprint(job.runId)));
  return replaceLedgerRows(ledgerSchema, job, markers);
}
