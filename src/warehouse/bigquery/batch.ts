/**
 * Batches on BigQuery: a SQL batch is one script job (DDL, staged rows, range assertion, then data and
 * ledger in one transaction); a command batch's steps (runner/command.ts runs them) mark its partitions
 * unfinished in the ledger (one job), re-read the batch's partitions from metadata in one query after
 * the command, and write their ledger rows in one job. Writers to one table are serialised in this
 * process because concurrent mutating transactions on one table abort each other.
 */
import { BigQuery } from '@google-cloud/bigquery';
import { formatDay, parseIsoDate, type Day } from '../../core/dates.js';
import { tableName, type BigqueryTarget, type Processor, type TableRef } from '../../core/model.js';
import { unfinishedFingerprint } from '../../core/snapshot.js';
import { CheckedSelects } from '../checked-selects.js';
import { batchChecksSql, findingsOf, findingsSelect } from './checks.js';
import {
  done,
  failed,
  type BatchJob,
  type CheckFinding,
  type InputFingerprints,
  type JobAccess,
  type JobFailure,
  type RowCounts,
  type StagedBatch,
  type Step,
} from '../port.js';
import { decideSchemaChange, partitionColumnProblem, type Column, type SchemaChange } from '../schema-change.js';
import { batchLabel, renderBatchTemplate } from '../shared.js';
import { isNotFound, toFailure } from './errors.js';
import { JobCancelled, jobIdFor, runJob, type JobContext, type Row } from './jobs.js';
import { BIGQUERY_TYPES, selectColumns, tableColumns } from './schema.js';
import { partitionIdToDay } from './snapshot.js';
import { batchScript, commandFindingsSql, commandLedgerSql, dateLiteral, dropProcessorSql, partitionsOfTableSql, qualified } from './sql.js';

/**
 * Tables known to exist (from this process's snapshot or its own batches): their batches need no DDL.
 * A DDL statement costs a job step and, as a CTAS, bytes; most batches write existing tables.
 */
export class KnownTables {
  private readonly names = new Set<string>();
  private key = (table: TableRef) => `${table.schema}.${table.name}`;
  has = (table: TableRef) => this.names.has(this.key(table));
  add = (table: TableRef) => void this.names.add(this.key(table));
  forget = (table: TableRef) => void this.names.delete(this.key(table));
}

/** One holder per key at a time, in arrival order (BigQuery's writers to one table). */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async acquire(key: string): Promise<JobAccess> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    await previous;
    // An abandoned job's BigQuery job was cancelled (jobs.cancel): letting the next writer in is safe.
    return { release, abandon: release };
  }
}

/** The processor's SELECT (`text`) for a batch, in BigQuery's dialect, without trailing semicolons or comments. */
export function renderSelect(target: BigqueryTarget, job: BatchJob, text: string): string {
  return renderBatchTemplate(job, text, {
    dateLiteral,
    table: (table) => qualified(target.project, table),
    unknownRef: (name) => {
      throw new Error(`ref('${name}') names no node; validate should have rejected it`);
    },
  });
}

/** What one job of a batch writes; with the attempt it names the job (jobIdFor). */
type BatchStep = 'batch' | 'batch_create' | 'mark' | 'read' | `read_${number}` | 'checks' | 'findings' | 'ledger';

/**
 * A batch's job context. Inside a run (`job.attempt` set) each step's job gets a deterministic id
 * `dag_<run>_<processor>_<start>_<end>_<attempt>_<step>`: a request that failed without an answer is
 * then resolved by finding that job, never by starting a second one (jobs.ts insertOrAttach).
 */
function batchContext(target: BigqueryTarget, job: BatchJob, signal: AbortSignal, step?: BatchStep): JobContext {
  const context: JobContext = { target, signal, labels: { dag_run_id: job.runId, dag_processor: job.processor.name } };
  if (step === undefined || job.attempt === undefined) return context;
  const day = (d: Day) => formatDay(d).replace(/-/g, '');
  return { ...context, jobId: jobIdFor([job.runId, job.processor.name, day(job.batch.start), day(job.batch.end), job.attempt, step]) };
}

function ledgerParams(job: BatchJob, fingerprints: InputFingerprints, rows?: RowCounts): Record<string, unknown> {
  return {
    processor: job.processor.name,
    // Ledger rows are keyed by table too: a renamed processor's batches replace its old rows.
    table_name: tableName(job.processor.table),
    run_id: job.runId,
    built_at: job.builtAt,
    code_fingerprint: job.codeFingerprint,
    batch: [...(rows ? rows.keys() : job.batch.days)].map((day) => ({
      partition_date: BigQuery.date(formatDay(day)),
      input_fingerprint: fingerprints.get(day) ?? '',
      ...(rows ? { row_count: rows.get(day) ?? 0 } : {}),
    })),
  };
}

/** What the batches of one process share: per-table writer access, tables known to exist, checked SELECTs. */
export interface BatchState {
  readonly writers: KeyedMutex;
  readonly known: KnownTables;
  /** The SELECT's column names, by processor and SQL template, once a batch of it committed. */
  readonly checked: CheckedSelects<readonly string[]>;
}

/**
 * A SQL batch is one script job (DDL, staged rows, range assertion, data and ledger in one transaction),
 * so it needs the input fingerprints up front: staging checks the SELECT's columns against the table
 * (dry runs and metadata, nothing written) and renders the script; commit runs it (cancelled
 * server-side on `signal`). The caller holds the table's writer access, so a schema change another
 * batch made is seen here.
 */
export async function stageSqlBatch(
  client: BigQuery,
  target: BigqueryTarget,
  state: BatchState,
  job: BatchJob,
  signal: AbortSignal,
): Promise<Step<StagedBatch>> {
  const { processor, batch } = job;
  const { known, checked } = state;
  if (processor.action.kind !== 'sql') throw new Error(`stageSqlBatch called for command processor ${processor.name}`);
  const select = renderSelect(target, job, processor.action.text);
  const key = CheckedSelects.key(processor.name, processor.action.text);
  let columns = checked.get(key);
  let changes: readonly SchemaChange[] = [];
  if (columns === undefined) {
    let fit: SchemaFit;
    try {
      fit = await checkSchema(client, target, state, job, select, batchContext(target, job, signal));
    } catch (error) {
      return failed(jobFailure(error, signal, batchLabel(job)));
    }
    if (!fit.ok) return failed(fit.failure);
    ({ columns, changes } = fit);
  }
  const checkedColumns = columns;
  const script = (createTable: boolean) =>
    batchScript({
      project: target.project,
      ledgerDataset: target.ledgerSchema,
      table: processor.table,
      partitionColumn: processor.partitionColumn,
      start: batch.start,
      end: batch.end,
      select,
      createTable,
      columns: checkedColumns,
      changes,
      checks: batchChecksSql(target, job),
    });
  // Known once the script ran: the checks run inside it, at commit.
  const findings: CheckFinding[] = [];
  return done({
    findings,
    async commit(fingerprints, commitSignal) {
      const context = batchContext(target, job, commitSignal, 'batch');
      const params = ledgerParams(job, fingerprints);
      try {
        let rows: Row[];
        if (!known.has(processor.table)) rows = await runJob(client, script(true), params, context);
        else {
          try {
            rows = await runJob(client, script(false), params, context);
          } catch (error) {
            // Dropped since the snapshot: create it again (notFound fails the script before any write).
            if (!isNotFound(error) || commitSignal.aborted) throw error;
            known.forget(processor.table);
            rows = await runJob(client, script(true), params, batchContext(target, job, commitSignal, 'batch_create'));
          }
        }
        known.add(processor.table);
        checked.set(key, checkedColumns);
        const counted = new Map<Day, number>();
        for (const row of rows) {
          if (row.kind === 'finding') continue;
          const day = parseIsoDate(String(row.partition_date));
          if (day !== undefined) counted.set(day, Number(row.row_count));
        }
        findings.push(...findingsOf(rows.filter((row) => row.kind === 'finding').map((row) => ({ ...row, offending: row.row_count }))));
        const failedDays = new Set(findings.filter((f) => f.severity === 'error').map((f) => f.day));
        return done(new Map(batch.days.filter((day) => !failedDays.has(day)).map((day) => [day, counted.get(day) ?? 0])));
      } catch (error) {
        return failed(jobFailure(error, commitSignal));
      }
    },
    discard: async () => undefined,
  });
}

function jobFailure(error: unknown, signal: AbortSignal, what?: string): JobFailure {
  if (error instanceof JobCancelled || signal.aborted) return { category: 'CANCELLED', message: 'the BigQuery job was cancelled' };
  const failure = toFailure(error);
  return what ? { ...failure, message: `${what}: ${failure.message}` } : failure;
}

/** The command gets the dataset and table; it uses its own credentials. */
export function commandEnv(target: BigqueryTarget, job: BatchJob): Record<string, string> {
  return {
    DAG_BQ_PROJECT: target.project,
    DAG_BQ_LOCATION: target.location,
    DAG_BQ_DATASET: job.processor.table.schema,
    DAG_TABLE: job.processor.table.name,
  };
}

/** Markers for every partition of the batch, appended in one job (see unfinishedParams). */
export async function markUnfinished(client: BigQuery, target: BigqueryTarget, job: BatchJob, signal: AbortSignal): Promise<Step<void>> {
  try {
    await runJob(client, commandLedgerSql(target.project, target.ledgerSchema), unfinishedParams(job), batchContext(target, job, signal, 'mark'));
    return done(undefined);
  } catch (error) {
    return failed(jobFailure(error, signal, `${batchLabel(job)}: marking the batch unfinished in the ledger failed`));
  }
}

type SchemaFit =
  | { readonly ok: true; readonly columns: readonly string[]; readonly changes: readonly SchemaChange[] }
  | { readonly ok: false; readonly failure: JobFailure };

/**
 * The SELECT's columns against the table's (schema.ts), before anything is sent that writes. A SELECT
 * that does not compile, or a schema on_schema_change does not allow, fails every batch alike.
 */
async function checkSchema(
  client: BigQuery,
  target: BigqueryTarget,
  state: BatchState,
  job: BatchJob,
  select: string,
  context: JobContext,
): Promise<SchemaFit> {
  const where = batchLabel(job);
  const refuse = (failure: JobFailure): SchemaFit => ({ ok: false, failure: { ...failure, message: `${where}: ${failure.message}` } });
  let selected: Column[];
  try {
    selected = await selectColumns(client, select, context);
  } catch (error) {
    if (error instanceof JobCancelled || context.signal?.aborted) throw error;
    const failure = toFailure(error);
    return refuse(failure.category === 'PROCESSOR_ERROR' ? { ...failure, dataIndependent: true } : failure);
  }
  const problem = partitionColumnProblem(job.processor, selected, BIGQUERY_TYPES);
  if (problem) return refuse(problem);
  const existing = await tableColumns(client, target, job.processor.table);
  if (existing === undefined) state.known.forget(job.processor.table);
  else state.known.add(job.processor.table);
  const decision = decideSchemaChange(job.processor, existing ?? [], selected, BIGQUERY_TYPES);
  if (!decision.ok) return refuse(decision.failure);
  return { ok: true, columns: selected.map((c) => c.name), changes: decision.changes };
}

/** `--full-refresh`: drops the table and deletes its ledger rows (sql.ts dropProcessorSql), in the table's queue. */
export async function dropProcessorTable(client: BigQuery, target: BigqueryTarget, state: BatchState, processor: Processor): Promise<void> {
  const context: JobContext = { target, labels: { dag_run_id: 'full_refresh', dag_processor: processor.name } };
  const access = await state.writers.acquire(`${processor.table.schema}.${processor.table.name}`);
  try {
    await runJob(
      client,
      dropProcessorSql(target.project, target.ledgerSchema, processor.table),
      { processor: processor.name, table_name: tableName(processor.table) },
      context,
    );
    state.known.forget(processor.table);
    state.checked.forget(processor.name);
  } finally {
    access.release();
  }
}

/** How long a command batch waits for its table's streaming buffer to empty, and how often it looks. */
export interface StreamingWait {
  readonly totalMs: number;
  readonly everyMs: number;
}
export const STREAMING_WAIT: StreamingWait = { totalMs: 60_000, everyMs: 2_000 };

/**
 * Rows per day of the batch's range, from partition metadata in one query. Rows a command streamed
 * (tabledata.insertAll, the legacy streaming API) sit in the `__UNPARTITIONED__` partition for up to
 * ~90 minutes before BigQuery moves them into their day partitions
 * (https://cloud.google.com/bigquery/docs/streaming-data-into-bigquery#dataavailability); their days
 * would look absent. So while the table's buffer holds rows, the read is repeated (up to
 * `wait.totalMs`); if it still does, the batch fails naming the table, never recording days as absent.
 */
export async function readPartitions(
  client: BigQuery,
  target: BigqueryTarget,
  job: BatchJob,
  signal: AbortSignal,
  wait: StreamingWait = STREAMING_WAIT,
): Promise<Step<RowCounts>> {
  const { processor, batch } = job;
  const started = Date.now();
  try {
    // Each read is its own job (its own deterministic id: a repeated id would re-attach to the first).
    for (let reads = 0; ; ) {
      const listed = await runJob(
        client,
        partitionsOfTableSql(target.project, processor.table, batch.start, batch.end),
        { table: processor.table.name },
        batchContext(target, job, signal, reads === 0 ? 'read' : `read_${reads + 1}`),
      );
      const present = new Map<Day, number>();
      let buffered = 0;
      for (const row of listed) {
        if (String(row.partition_id) === '__UNPARTITIONED__') buffered += Number(row.total_rows ?? 0);
        const day = partitionIdToDay(String(row.partition_id));
        if (day !== undefined && Number(row.total_rows) > 0) present.set(day, Number(row.total_rows));
      }
      if (buffered <= 0) return done(present);
      reads += 1;
      const waited = Date.now() - started;
      if (waited >= wait.totalMs)
        return failed({
          category: 'PROCESSOR_ERROR',
          message:
            `${batchLabel(job)}: ${buffered} row(s) in ${tableName(processor.table)} are still in BigQuery's streaming buffer after ${Math.round(waited / 1000)}s ` +
            `(listed as partition __UNPARTITIONED__ for up to ~90 minutes), so dag cannot tell which days they belong to and records none of the batch; ` +
            `have the command write with a load job or DML (INSERT) instead of streaming inserts, or run again once the buffer is empty`,
        });
      await pause(wait.everyMs, signal);
    }
  } catch (error) {
    return failed(jobFailure(error, signal));
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new JobCancelled(undefined));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new JobCancelled(undefined));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The processor's checks over the batch's partitions as a command left them, in one query. */
export async function checkPartitions(client: BigQuery, target: BigqueryTarget, job: BatchJob, signal: AbortSignal): Promise<Step<readonly CheckFinding[]>> {
  const { processor, batch } = job;
  if (processor.checks.length === 0) return done([]);
  const pc = `\`${processor.partitionColumn}\``;
  const rows = `(SELECT * FROM ${qualified(target.project, processor.table)} WHERE ${pc} BETWEEN ${dateLiteral(batch.start)} AND ${dateLiteral(batch.end)})`;
  try {
    return done(findingsOf(await runJob(client, findingsSelect(target, job, rows), undefined, batchContext(target, job, signal, 'checks'))));
  } catch (error) {
    const failure = jobFailure(error, signal, `${batchLabel(job)}: the checks could not run`);
    // A check that does not compile (a missing column, bad SQL) fails every batch alike.
    return failed(failure.category === 'PROCESSOR_ERROR' ? { ...failure, dataIndependent: true } : failure);
  }
}

/**
 * The present partitions' ledger rows, appended in one job (they win over the markers: later built_at),
 * and the checks' findings; a day an error check failed gets no row, so its marker stays the latest.
 */
export async function recordPartitions(
  client: BigQuery,
  target: BigqueryTarget,
  job: BatchJob,
  rows: RowCounts,
  fingerprints: InputFingerprints,
  signal: AbortSignal,
  findings: readonly CheckFinding[] = [],
): Promise<Step<void>> {
  try {
    if (findings.length > 0) {
      const params = {
        run_id: job.runId,
        processor: job.processor.name,
        built_at: job.builtAt,
        findings: findings.map((f) => ({
          partition_date: BigQuery.date(formatDay(f.day)),
          check_name: f.check,
          severity: f.severity,
          offending_rows: f.offending,
          samples: `[${f.samples.join(', ')}]`,
        })),
      };
      await runJob(client, commandFindingsSql(target.project, target.ledgerSchema), params, batchContext(target, job, signal, 'findings'));
    }
    if (rows.size === 0) return done(undefined);
    await runJob(
      client,
      commandLedgerSql(target.project, target.ledgerSchema),
      ledgerParams(job, fingerprints, rows),
      batchContext(target, job, signal, 'ledger'),
    );
    return done(undefined);
  } catch (error) {
    return failed(jobFailure(error, signal));
  }
}

/**
 * The command writes its rows itself, outside any dag transaction, and dag writes the ledger only after
 * it exits 0. So before it starts, every partition of the batch gets a marker row: rows -1 (a partition
 * whose data is absent stays absent) and a code fingerprint no processor has (one whose data is there
 * is stale, code_changed). If the command fails, times out, or dag dies before the ledger write, the
 * next plan rebuilds these partitions instead of taking half-written ones as fresh external data. The
 * ledger is append-only and readers take the row with the latest built_at (then run_id), so the marker
 * is stamped 1 ms before the batch's builtAt: the completion row, same run id, always wins over it.
 */
export function unfinishedParams(job: BatchJob): Record<string, unknown> {
  const markers = new Map(job.batch.days.map((day) => [day, -1]));
  // Spreading keeps ledgerParams' key order; the two stamps are overridden in place.
  return { ...ledgerParams(job, new Map(), markers), built_at: job.builtAt - 1, code_fingerprint: unfinishedFingerprint(job.runId) };
}
