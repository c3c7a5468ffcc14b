/**
 * Ledger writes: the `partitions` rows batches write (as statements for the batch's own transaction),
 * and runs, failures and recorded source versions.
 */
import { dateValue, timestampValue } from './node-api.js';
import type { Day } from '../../core/dates.js';
import type { Pipeline } from '../../core/model.js';
import type { Snapshot } from '../../core/snapshot.js';
import type { BatchJob, FailureRecord, RunRecord } from '../port.js';
import type { SerialConnection } from './connection.js';
import { CATALOG, dateLiteral, ledgerTable, quoteString, timestampLiteral } from './sql.js';

/** One `partitions` row of a batch's partition as a VALUES tuple, in the table's column order. */
export function partitionRow(job: BatchJob, day: Day, rows: number, codeFingerprint = job.codeFingerprint, inputFingerprint = job.inputFingerprints.get(day) ?? ''): string {
  return `(${quoteString(job.processor.name)}, ${dateLiteral(day)}, ${quoteString(job.runId)}, ${timestampLiteral(job.builtAt)}, ${rows}, ${quoteString(codeFingerprint)}, ${quoteString(inputFingerprint)})`;
}

/** Replaces a processor's `partitions` rows whose partition_date matches `dates` (e.g. `BETWEEN ...`) with `rows`. */
export function replacePartitionRows(ledgerSchema: string, processor: string, dates: string, rows: readonly string[]): string[] {
  const ledger = ledgerTable(ledgerSchema, 'partitions');
  return [
    `DELETE FROM ${ledger} WHERE processor = ${quoteString(processor)} AND partition_date ${dates}`,
    ...(rows.length > 0 ? [`INSERT INTO ${ledger} VALUES ${rows.join(', ')}`] : []),
  ];
}

/**
 * Appends the current version of every source partition whose version dag has not seen as the latest
 * (changedAt Infinity), stamped `at`. Uses the appender: a first run may record millions of partitions.
 */
export async function recordSourceVersions(connection: SerialConnection, ledgerSchema: string, pipeline: Pipeline, snapshot: Snapshot, at: number): Promise<void> {
  const micros = BigInt(Math.round(at)) * 1000n;
  await connection.append(CATALOG, ledgerSchema, 'source_versions', (appender) => {
    for (const source of pipeline.sources) {
      const inventory = snapshot.tables.get(source.name);
      if (!inventory) continue;
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
}

export function recordRunStatements(ledgerSchema: string, run: RunRecord): string[] {
  const runs = ledgerTable(ledgerSchema, 'runs');
  const nullable = (value: string | undefined): string => (value === undefined ? 'NULL' : value);
  return [
    'BEGIN TRANSACTION',
    `DELETE FROM ${runs} WHERE run_id = ${quoteString(run.runId)}`,
    `INSERT INTO ${runs} VALUES (${quoteString(run.runId)}, ${quoteString(run.commandLine)}, ${quoteString(run.target)}, ${timestampLiteral(run.startedAt)}, ${nullable(
      run.endedAt === undefined ? undefined : timestampLiteral(run.endedAt),
    )}, ${nullable(run.outcome === undefined ? undefined : quoteString(run.outcome))})`,
    'COMMIT',
  ];
}

export function recordFailureStatement(ledgerSchema: string, failure: FailureRecord): string {
  return `INSERT INTO ${ledgerTable(ledgerSchema, 'failures')} VALUES (${quoteString(failure.runId)}, ${quoteString(failure.processor)}, ${dateLiteral(failure.day)}, ${quoteString(
    failure.category,
  )}, ${quoteString(failure.message)}, ${Math.trunc(failure.attempt)}, ${timestampLiteral(failure.at)})`;
}
