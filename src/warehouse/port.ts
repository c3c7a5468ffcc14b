/**
 * The Warehouse port: everything dag asks of a warehouse. Adapters (duckdb/, bigquery/) own every line
 * of SQL; nothing above this port builds SQL strings.
 *
 * A batch is driven by the runner (runner/attempt.ts, runner/command.ts) through primitive steps —
 * access, stage and commit for SQL; markers, hand-over, take-back, re-read and ledger rows for
 * commands — so the runner owns every status a job goes through and the adapters own only how each
 * step is done. Steps return their failure as a value (`Step`); adapters never choose exit codes.
 */
import type { Day } from '../core/dates.js';
import type { CheckSeverity, Pipeline, Processor } from '../core/model.js';
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
  | 'CHECK_FAILED' // an error check found offending rows: the partition is not committed, never retried
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

/** What a step returns: its value, or why the job failed. */
export type Step<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly failure: JobFailure };

export const done = <T>(value: T): Step<T> => ({ ok: true, value });
export const failed = (failure: JobFailure): Step<never> => ({ ok: false, failure });

/** One warehouse job: a batch of contiguous partitions of one processor. Plain data, no callbacks. */
export interface BatchJob {
  readonly pipeline: Pipeline;
  readonly processor: Processor;
  readonly batch: Batch;
  readonly runId: string;
  /** What the ledger records as built_at: strictly after every input's builtAt / changedAt. */
  readonly builtAt: number;
  readonly codeFingerprint: string;
  /**
   * The runner's attempt of this task (1-based); absent outside a run (plan, render). BigQuery names its
   * jobs from it, so a retried request re-attaches to the attempt's job instead of starting another.
   */
  readonly attempt?: number;
}

/** Per partition of a batch: a hash of the versions of the upstream partitions it read (ledger input_fingerprint). */
export type InputFingerprints = ReadonlyMap<Day, string>;

/** Rows per partition of a batch. */
export type RowCounts = ReadonlyMap<Day, number>;

/**
 * A job's hold on the target, from `Warehouse.access`: DuckDB holds its file shared for SQL batches and
 * exclusively for a command (whose own process must be the only one with the file open); BigQuery lets
 * one SQL batch at a time write a table (concurrent mutating transactions on a table abort each other).
 */
export interface JobAccess {
  /** Lets waiting jobs in. Idempotent. */
  release(): void;
  /**
   * The job did not stop within its grace period after a cancel or timeout (a read blocked in the
   * kernel): nothing waits for its hold any more, and whatever connection it had is never used again.
   */
  abandon(): void;
}

/**
 * What one check found in one partition of a batch (DESIGN §9): how many rows offend and up to five
 * of them, each as a JSON object. A partition without offending rows has no finding.
 */
export interface CheckFinding {
  readonly check: string;
  readonly severity: CheckSeverity;
  readonly day: Day;
  readonly offending: number;
  readonly samples: readonly string[];
}

/**
 * A SQL batch's rows, written but not committed: nobody else sees them. The runner may wait here for
 * the input fingerprints (source versions still being recorded) before it commits.
 */
export interface StagedBatch {
  /**
   * The checks' findings on the staged rows, complete once `commit` succeeded (BigQuery runs the
   * checks inside its script, at commit). Partitions with an `error` finding are left out of the
   * commit (their old rows and ledger rows stay); every finding is recorded in `_dag.checks` with it.
   */
  readonly findings: readonly CheckFinding[];
  /**
   * Writes the batch's ledger rows and commits them with its data, atomically; the rows now in each
   * committed partition (those an error check failed are absent). Where committing is one short statement (DuckDB) it is not cut by `signal`: a commit that
   * ran is reported as done, never as cancelled.
   */
  commit(fingerprints: InputFingerprints, signal: AbortSignal): Promise<Step<RowCounts>>;
  /** Throws the staged rows away; the old partitions stay. Never throws. */
  discard(): Promise<void>;
}

/**
 * The steps of a command batch. Their order (runner/command.ts, written once for every adapter):
 * access (exclusive where needed), markUnfinished, handOver, the command, takeBack, readPartitions,
 * recordPartitions, release.
 */
export interface CommandSteps {
  /**
   * Replaces the batch's ledger rows with "unfinished" markers (rows -1, code fingerprint
   * `unfinished:<run>`), so a command that fails or a dag that dies before the ledger write leaves
   * partitions the next plan rebuilds instead of half-written ones it takes as fresh.
   */
  markUnfinished(job: BatchJob, signal: AbortSignal): Promise<Step<void>>;
  /** Lets the command at the target: the connection settings it gets in env (DuckDB also closes its file). */
  handOver(job: BatchJob): Promise<Step<Readonly<Record<string, string>>>>;
  /** After the command ended, however it ended (DuckDB reopens its file). */
  takeBack(job: BatchJob): Promise<Step<void>>;
  /** Rows per partition of the batch's range now in the table (a missing table: none); checks its partition column. */
  readPartitions(job: BatchJob, signal: AbortSignal): Promise<Step<RowCounts>>;
  /**
   * Runs the processor's checks on the batch's partitions as the command left them (one query per
   * check); data-independent problems of a check are a failure, like a SQL batch's.
   */
  checkPartitions(job: BatchJob, signal: AbortSignal): Promise<Step<readonly CheckFinding[]>>;
  /**
   * Ledger rows for the partitions the command left present, replacing the markers of those days, and
   * the checks' findings; a day absent from `rows` (failed a check) keeps its marker.
   */
  recordPartitions(
    job: BatchJob,
    rows: RowCounts,
    fingerprints: InputFingerprints,
    signal: AbortSignal,
    findings?: readonly CheckFinding[],
  ): Promise<Step<void>>;
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
  /** The run's range and what became of its partitions: written with its end (ledger version 3). */
  readonly summary?: RunSummary;
}

export interface RunSummary {
  readonly range: { readonly start: Day; readonly end: Day };
  readonly built: number;
  /** Partitions whose own batch failed. */
  readonly failed: number;
  /** Partitions left as they were because something they read failed in the run. */
  readonly upstreamFailed: number;
  /** Partitions the plan could not build (missing dependencies, history, range). */
  readonly blocked: number;
}

/** How one batch of a run ended: a leaf of its splits, with its attempts and times (`_dag.batches`). */
export interface BatchRecord {
  readonly runId: string;
  readonly processor: string;
  readonly start: Day;
  readonly end: Day;
  readonly outcome: 'built' | 'failed' | 'abandoned' | 'upstream_failed';
  /** The failure's category (failed, abandoned, upstream_failed). */
  readonly category?: FailureCategory;
  /** Jobs started for it (0 for upstream_failed). */
  readonly attempts: number;
  /** Rows written (built). */
  readonly rows?: number;
  /** Wall-clock ms; absent for a batch that never started. */
  readonly startedAt?: number;
  readonly endedAt?: number;
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
  /** The check findings of those runs (both severities), newest run first, up to the failures limit. */
  readonly checks: readonly RecordedFinding[];
  readonly checksTruncated: boolean;
}

/**
 * A partition that failed in a run: its last failed attempt in that run, and whether a later build
 * of it holds now (`builtSince`). A partition the same run built after the failure (a retry, a split
 * half) did not fail in that run and is never listed.
 */
export interface PartitionFailure extends FailureRecord {
  /** Failed attempts of the partition in that run. */
  readonly attempts: number;
  readonly builtSince?: { readonly runId: string; readonly at: number };
}

/** Which failed partitions `readFailures` returns, newest failure first. */
export interface FailureQuery {
  /** Only the failures of the latest this many runs (by start). */
  readonly runs?: number;
  readonly runId?: string;
  readonly processor?: string;
  readonly day?: Day;
  /** At most this many partitions (one more is read to tell truncation). */
  readonly limit: number;
}

export interface PartitionFailures {
  readonly failures: readonly PartitionFailure[];
  readonly truncated: boolean;
}

/** A data-check finding as `_dag.checks` recorded it (samples parsed from their JSON array). */
export interface RecordedFinding {
  readonly runId: string;
  readonly processor: string;
  readonly check: string;
  readonly severity: CheckSeverity;
  readonly day: Day;
  readonly offending: number;
  readonly samples: readonly unknown[];
}

/** One run as `dag runs RUN_ID` shows it. */
export interface RunDetail {
  readonly run: RunRecord;
  /** Ordered by processor, then start date; empty for runs recorded before ledger version 3. */
  readonly batches: readonly BatchRecord[];
  /** The run's check findings (both severities) by processor, check, date; at most RUN_FINDINGS. */
  readonly checks: readonly RecordedFinding[];
  /** More findings exist than `checks` holds. */
  readonly checksTruncated: boolean;
}

/** Check findings `readRun` returns at most (one more is read to tell truncation). */
export const RUN_FINDINGS = 10_000;

/** A running command's process group, as the lock records it (so a takeover can end an orphan). */
export interface ProcessGroup {
  readonly pgid: number;
  /** The group leader's start time (Linux: /proc/PID/stat field 22), so a reused id is not taken for it. */
  readonly start?: string;
}

export interface LockOwner {
  readonly runId: string;
  readonly pid: number;
  readonly host: string;
  readonly since: number;
  readonly commandLine: string;
  /** The owner's process start time (Linux: /proc/PID/stat field 22): a live process with another start time reused the pid. */
  readonly processStart?: string;
  /** Command process groups the owner is running now. */
  readonly groups?: readonly ProcessGroup[];
}

export type LockResult =
  | { readonly ok: true }
  /** `orphans`: the holder is dead, but these command process groups of its survived a SIGKILL. */
  | { readonly ok: false; readonly holder: LockOwner; readonly orphans?: readonly number[] };

/** What went wrong before any job ran; src/cli maps each kind to an exit code (adapters never do). */
export type WarehouseErrorKind =
  /** Another run holds the target's lock. */
  | 'locked'
  /** The lock exists but cannot be read (empty, not dag's, unreadable): the message says how to clear it. */
  | 'lock-unreadable'
  /** The target cannot be opened or read (file, credentials, permissions). */
  | 'unreadable-target'
  /** A table cannot be used (partition column missing or not a DATE, a failing view). */
  | 'bad-table'
  /** The ledger is damaged or newer than this dag. */
  | 'bad-ledger';

export class WarehouseError extends Error {
  constructor(
    readonly kind: WarehouseErrorKind,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'WarehouseError';
  }
}

/** How readSnapshot treats a table whose inventory query fails. */
export interface SnapshotOptions {
  /**
   * 'throw' (default, dag plan): a WarehouseError('bad-table') naming it. 'report' (dag run): the
   * snapshot names it in `unreadable` and reads every other table (only its readers fail). A damaged
   * ledger, an unusable partition column and an unreadable calendar are thrown either way.
   */
  readonly unreadable?: 'throw' | 'report';
}

export interface Warehouse extends CommandSteps {
  readonly targetName: string;
  /**
   * Inventory of the named nodes' tables and the calendar's, plus the ledger of the named processors,
   * in a number of queries that depends on the number of tables, never on the number of dates.
   * Throws a WarehouseError for an unreadable target, an unusable table or a bad ledger (never a UserError:
   * only src/cli chooses exit codes).
   */
  readSnapshot(pipeline: Pipeline, nodes: readonly string[], options?: SnapshotOptions): Promise<Snapshot>;
  /** Waits until `job` may touch the target (see JobAccess); a failure when it never can. */
  access(job: BatchJob): Promise<Step<JobAccess>>;
  /**
   * Checks and runs a SQL batch's SELECT and writes its rows in place of partitions start..end, inside a
   * transaction nobody else sees until `commit`. Rows outside the range fail with OUT_OF_RANGE_ROWS and
   * nothing is written. On `signal` abort the query is interrupted and CANCELLED returned. (BigQuery
   * runs data and ledger as one script job: its stage only renders the SELECT; commit runs it.)
   */
  stageSqlBatch(job: BatchJob, signal: AbortSignal): Promise<Step<StagedBatch>>;
  /**
   * Remembers source content versions, stamped `at`, so later plans can tell which changed (no-op where
   * the warehouse has modification times). Versions the snapshot left pending are computed here; they
   * are returned, by source and day, for the input fingerprints, and a pending source whose versions
   * cannot be computed is named with the error (only its readers fail). Pending sources no processor
   * reads are left alone (no plan ever needs their versions). On `signal` abort hashing is interrupted.
   */
  recordSourceVersions(pipeline: Pipeline, snapshot: Snapshot, at: number, signal?: AbortSignal): Promise<RecordedVersions>;
  /** A run's start row, then its end row (with its summary), the latest replacing the former. */
  recordRun(run: RunRecord): Promise<void>;
  /** Appends rows to `_dag.failures` in one statement (on BigQuery one job, whatever their number). */
  recordFailures(failures: readonly FailureRecord[]): Promise<void>;
  /** A run's batches, once it ended (a few statements, whatever their number). */
  recordBatches(batches: readonly BatchRecord[]): Promise<void>;
  /**
   * One writer per target: takes the lock, waiting up to waitMs. A lock whose owner is dead (on this
   * host: no such process, or the pid reused by another process) is taken over after the owner's
   * command process groups are ended. Throws WarehouseError('lock-unreadable') for a lock it cannot read.
   */
  acquireLock(owner: LockOwner, waitMs: number): Promise<LockResult>;
  /** Records the owner's running command process groups in its lock (none: the commands ended). */
  recordCommandGroups(owner: LockOwner, groups: readonly ProcessGroup[]): Promise<void>;
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
  /** One run and its batches; undefined when no run has that id. */
  readRun(runId: string): Promise<RunDetail | undefined>;
  /** Failed partitions with whether they were built since (`dag runs --failures`, `dag explain`); a fixed number of queries. */
  readFailures(query: FailureQuery): Promise<PartitionFailures>;
  /** Bytes a batch would process (free dry run); undefined where the warehouse cannot estimate. */
  estimateBytes(job: BatchJob): Promise<number | undefined>;
  /**
   * `dag ledger compact`: keeps only each partition's latest ledger row (the one every read takes),
   * with the run lock held by the caller; the row counts before and after. Absent: nothing to compact.
   */
  compactLedger?(pipeline: Pipeline): Promise<{ readonly before: number; readonly after: number }>;
  /** Closes connections; work that was abandoned is not waited for. */
  close(): Promise<void>;
}
