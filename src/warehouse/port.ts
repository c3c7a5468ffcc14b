/**
 * The Warehouse port: everything dag asks of a warehouse. Adapters (duckdb/, bigquery/) own every line
 * of SQL; nothing above this port builds SQL strings.
 */
import type { Day } from '../core/dates.js';
import type { Pipeline, Processor } from '../core/model.js';
import type { Batch } from '../core/plan.js';
import type { RecordedVersions, Snapshot } from '../core/snapshot.js';

/** Why a job failed. Transient errors are retried; the others are final for this run. */
export type FailureCategory =
  | 'PROCESSOR_ERROR' // bad SQL, non-zero exit: deterministic, never retried
  | 'TRANSIENT' // lock conflict, I/O, network, 429/5xx: retried with backoff
  | 'TIMEOUT'
  | 'CANCELLED'
  | 'OUT_OF_RANGE_ROWS'
  | 'NO_OUTPUT'
  | 'UPSTREAM_FAILED';

export interface JobFailure {
  readonly category: FailureCategory;
  readonly message: string;
  /**
   * The failure does not depend on the data (DESIGN §5): the SELECT's schema does not fit the table,
   * the SQL does not bind. Every batch of the processor would fail the same way, so the runner fails
   * all of them in the run at once, with this one message, and neither retries nor splits. Absent: the
   * error may depend on the data (or nobody knows), and the usual retry/split rules apply.
   */
  readonly dataIndependent?: true;
}

export type BatchOutcome =
  | {
      readonly ok: true;
      /** Rows now in each partition of the batch that dag recorded in the ledger. */
      readonly rows: ReadonlyMap<Day, number>;
      /** Command batches only: partitions still absent after exit 0 (and `allow_empty` is off); not recorded. */
      readonly absent: readonly Day[];
    }
  | { readonly ok: false; readonly failure: JobFailure };

/** One warehouse job: a batch of contiguous partitions of one processor. */
export interface BatchJob {
  readonly pipeline: Pipeline;
  readonly processor: Processor;
  readonly batch: Batch;
  readonly runId: string;
  /** What the ledger records as built_at: strictly after every input's builtAt / changedAt. */
  readonly builtAt: number;
  readonly codeFingerprint: string;
  /**
   * Per partition of the batch: a hash of the versions of the upstream partitions it read. May still be
   * pending while the run computes source versions it had not seen (Snapshot.pendingVersions): adapters
   * await it just before writing the ledger rows, so no batch commits before those versions are recorded.
   */
  readonly inputFingerprints: ReadonlyMap<Day, string> | PromiseLike<ReadonlyMap<Day, string>>;
  /**
   * Optional, for adapters that queue jobs for access to the target (DuckDB: a command holds the file
   * exclusively): `onQueued` when the job starts waiting, `onStarted` when it really begins, so the
   * runner's timeout counts the job's own time, not the queue. Without them it counts from the call.
   */
  readonly onQueued?: () => void;
  readonly onStarted?: () => void;
}

/**
 * Starts a command processor's process for one batch. The runner owns processes (argv, DAG_* variables,
 * logs, timeouts, process groups); the adapter owns access and passes the target's connection settings
 * in `env`. Resolves undefined on exit 0, else the failure.
 */
export type CommandSpawner = (env: Readonly<Record<string, string>>, signal: AbortSignal) => Promise<JobFailure | undefined>;

export interface RunRecord {
  readonly runId: string;
  readonly commandLine: string;
  readonly target: string;
  readonly startedAt: number;
  readonly endedAt?: number;
  readonly outcome?: 'success' | 'failed' | 'cancelled';
}

export interface FailureRecord {
  readonly runId: string;
  readonly processor: string;
  readonly day: Day;
  readonly category: FailureCategory;
  readonly message: string;
  readonly attempt: number;
  readonly at: number;
}

/** How much run history `readRecentRuns` returns. */
export interface HistoryLimits {
  /** The latest this many runs (by start). */
  readonly runs: number;
  /** At most this many failure rows of those runs, newest first. */
  readonly failures: number;
}

/** `_dag.runs` and `_dag.failures` as recorded, newest first (for `dag report`). */
export interface RunHistory {
  readonly runs: readonly RunRecord[];
  /** Every recorded attempt of those runs (UPSTREAM_FAILED included), newest first, up to the limit. */
  readonly failures: readonly FailureRecord[];
  /** True when the limit cut failure rows off. */
  readonly failuresTruncated: boolean;
}

export interface LockOwner {
  readonly runId: string;
  readonly pid: number;
  readonly host: string;
  readonly since: number;
  readonly commandLine: string;
}

export type LockResult = { readonly ok: true } | { readonly ok: false; readonly holder: LockOwner };

export interface Warehouse {
  readonly targetName: string;
  /**
   * Inventory of the named nodes' tables and the calendar's, plus the ledger of the named processors,
   * in a number of queries that depends on the number of tables, never on the number of dates.
   * Throws UserError for an unreadable target or a table whose partition column is missing or not a DATE.
   */
  readSnapshot(pipeline: Pipeline, nodes: readonly string[]): Promise<Snapshot>;
  /**
   * Replaces partitions batch.start..batch.end of the processor's table with its SELECT's rows and
   * writes their ledger rows, atomically. Rows outside the range fail with OUT_OF_RANGE_ROWS and
   * nothing is written. On `signal` abort the query is interrupted and CANCELLED returned.
   */
  runSqlBatch(job: BatchJob, signal: AbortSignal): Promise<BatchOutcome>;
  /**
   * Runs a command processor's batch through `spawn` with the target's connection settings in env
   * (plus whatever access the engine needs), then re-reads the batch's partitions and records the
   * present ones (all of them with allow_empty) in the ledger.
   */
  runCommandBatch(job: BatchJob, spawn: CommandSpawner, signal: AbortSignal): Promise<BatchOutcome>;
  /**
   * Remembers source content versions, stamped `at`, so later plans can tell which changed (no-op where
   * the warehouse has modification times). Versions the snapshot left pending are computed here; they
   * are returned, by source and day, for the input fingerprints, and a pending source whose versions
   * cannot be computed is named with the error (only its readers fail). Pending sources no processor
   * reads are left alone (no plan ever needs their versions). On `signal` abort hashing is interrupted.
   */
  recordSourceVersions(pipeline: Pipeline, snapshot: Snapshot, at: number, signal?: AbortSignal): Promise<RecordedVersions>;
  recordRun(run: RunRecord): Promise<void>;
  recordFailure(failure: FailureRecord): Promise<void>;
  /** One writer per target: takes the lock, waiting up to waitMs; a lock held by a dead process is taken over. */
  acquireLock(owner: LockOwner, waitMs: number): Promise<LockResult>;
  releaseLock(owner: LockOwner): Promise<void>;
  /**
   * `dag run --full-refresh`: drops the processor's table (if it exists) and deletes its ledger rows,
   * so every partition of it is missing to the next snapshot; the rebuild is then an ordinary run.
   * Atomic where the engine allows DDL in a transaction (DuckDB); elsewhere the table goes first, so an
   * interruption leaves missing partitions, never ones taken as fresh. Throws on failure.
   */
  dropProcessorTable(processor: Processor): Promise<void>;

  /**
   * The recent runs and their failures, newest first; an empty history where dag has not run yet (no
   * ledger). A fixed number of queries, whatever the history's length.
   */
  readRecentRuns(limits: HistoryLimits): Promise<RunHistory>;
  /** Bytes a batch would process (free dry run); undefined where the warehouse cannot estimate. */
  estimateBytes(job: BatchJob): Promise<number | undefined>;
  close(): Promise<void>;
}
