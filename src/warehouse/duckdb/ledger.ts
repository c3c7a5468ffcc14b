/**
 * Ledger writes: the `partitions` rows batches write (as statements for the batch's own transaction),
 * and runs, failures and recorded source versions.
 */
import { dateValue, timestampValue } from './node-api.js';
import type { Day } from '../../core/dates.js';
import type { Pipeline, Source } from '../../core/model.js';
import type { RecordedVersions, Snapshot } from '../../core/snapshot.js';
import type { BatchJob, FailureRecord, RunRecord } from '../port.js';
import { firstLine, readersBySource } from '../shared.js';
import { classifyDuckdbError, type SerialConnection } from './connection.js';
import { sourceVersionsSql } from './snapshot.js';
import { CATALOG, dateLiteral, dayExpression, ledgerTable, quoteString, timestampLiteral } from './sql.js';

/** One `partitions` row of a batch's partition as a VALUES tuple, in the table's column order. */
export function partitionRow(job: BatchJob, day: Day, rows: number, inputFingerprint: string, codeFingerprint = job.codeFingerprint): string {
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
 * Records the current version of every source partition whose latest recorded version differs, stamped
 * `at`. Versions the snapshot read (changedAt Infinity marks the changed ones) go through the appender
 * (a first run may record millions); versions it left pending are computed and recorded by DuckDB in
 * one round trip per source and returned, for the input fingerprints.
 */
export async function recordSourceVersions(connection: SerialConnection, ledgerSchema: string, pipeline: Pipeline, snapshot: Snapshot, at: number): Promise<RecordedVersions> {
  const pending = snapshot.pendingVersions ?? new Set<string>();
  const micros = BigInt(Math.round(at)) * 1000n;
  await connection.append(CATALOG, ledgerSchema, 'source_versions', (appender) => {
    for (const source of pipeline.sources) {
      const inventory = snapshot.tables.get(source.name);
      if (!inventory || pending.has(source.name)) continue;
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
    `INSERT INTO ${recorded} SELECT ${quoteString(source.name)}, v.partition_date, v.version, ${timestampLiteral(at)} FROM ${COMPUTED} AS v LEFT JOIN (SELECT partition_date, arg_max(version, recorded_at) AS version FROM ${recorded} WHERE source = ${quoteString(source.name)} GROUP BY 1) AS r ON r.partition_date = v.partition_date WHERE r.version IS DISTINCT FROM v.version`,
    `SELECT ${dayExpression('partition_date')}, version FROM ${COMPUTED}`,
  ];
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
