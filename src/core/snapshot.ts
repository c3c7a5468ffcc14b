/**
 * What the warehouse holds, read once per invocation by an adapter and handed to the pure planner.
 * Its size follows the number of partitions, but the number of queries that filled it follows the
 * number of tables (stats.queries).
 */
import type { Day } from './dates.js';
import type { PartitionColumns } from './snapshot-columns.js';

export interface PartitionInfo {
  readonly rows: number;
  /** Opaque: a content hash (DuckDB sources) or `lastModified:rows` (BigQuery). */
  readonly version: string;
  /**
   * When this version came into being, in epoch ms, compared make-style with ledger `builtAt`:
   * - a number: the warehouse's modification time (BigQuery) or, for DuckDB sources, when dag first
   *   recorded this content version;
   * - `Infinity`: changed since dag last recorded it (newer than anything built);
   * - `undefined`: the warehouse cannot tell (DuckDB tables written outside dag).
   */
  readonly changedAt: number | undefined;
}

export interface TableInventory {
  /** False when the table does not exist yet (every partition absent). */
  readonly exists: boolean;
  readonly partitions: ReadonlyMap<Day, PartitionInfo>;
  /** BigQuery partition expiration, in days; counts as retention when the pipeline sets none. */
  readonly expirationDays?: number;
}

/** One row of `_dag.partitions`: dag built this partition, and from what. */
export interface LedgerEntry {
  readonly runId: string;
  /** Epoch ms, strictly after every input partition's builtAt/changedAt at build time. */
  readonly builtAt: number;
  readonly rows: number;
  readonly codeFingerprint: string;
  /**
   * Recorded for audit in `_dag.partitions`; snapshots may leave it out, since the planner decides
   * staleness by time (an input newer than builtAt) and reading a million of them costs seconds.
   */
  readonly inputFingerprint?: string;
}

export interface Snapshot {
  /** Sorted, distinct days of the calendar table; undefined when the calendar is every day. */
  readonly calendar: readonly Day[] | undefined;
  /** Inventory of every table read (selected processors, their upstream closure, the calendar), by node name. */
  readonly tables: ReadonlyMap<string, TableInventory>;
  /**
   * Ledger entries by (current) processor name, then day. Read by the processor's table: entries
   * recorded under another name (before a rename) are its history too (see formerNames).
   */
  readonly ledger: ReadonlyMap<string, ReadonlyMap<Day, LedgerEntry>>;
  /**
   * Per processor of the pipeline, the other names under which the ledger holds rows of its table
   * (a processor renamed in pipeline.yaml): those rows are in `ledger` under the current name.
   * Absent or empty: every row of its table carries its name.
   */
  readonly formerNames?: ReadonlyMap<string, readonly string[]>;
  /**
   * Ledger rows whose table no processor of the pipeline builds (a processor removed, or moved to
   * another table), or whose table the ledger does not know (rows of an unknown processor migrated
   * from ledger version 1), grouped by the name and table they were recorded under.
   */
  readonly orphanedLedger?: readonly OrphanedLedger[];
  /**
   * Set when the ledger is of an older version that this (read-only) snapshot read as such; the next
   * `dag run` migrates it. Version 1 rows carry no table, so they were read by processor name.
   */
  readonly olderLedgerVersion?: number;
  /** What the adapter found or changed in the ledger's layout that a person should hear of (warnings). */
  readonly ledgerNotes?: readonly { readonly message: string; readonly hint: string }[];
  /**
   * Partitions whose latest attempt failed and that have not been built since, with the failure
   * category (from `_dag.failures`); for coverage grids. Read in one query; may be empty.
   */
  readonly failures: ReadonlyMap<string, ReadonlyMap<Day, string>>;
  /**
   * Of those, the partitions whose latest failure is CHECK_FAILED, with its message (the check, the
   * count, sample rows), so `plan` and `explain` say why a partition is still to build (DESIGN §9).
   * Absent where the adapter does not read it.
   */
  readonly checkFailures?: ReadonlyMap<string, ReadonlyMap<Day, string>>;
  /**
   * Sources whose partition versions this snapshot did not compute (DuckDB: no processor it read that
   * reads them has a ledger entry, so no plan can be stale because of them): their partitions carry
   * version '' and changedAt Infinity. Warehouse.recordSourceVersions computes and records them, while
   * a run's first batches already run, and returns them. Absent or empty: every version is known.
   */
  readonly pendingVersions?: ReadonlySet<string>;
  /**
   * The same facts as `tables` and `ledger`, column-wise, for the nodes an adapter read that way
   * (snapshot-columns.ts): their Map forms are views over these columns, and the planner reads the
   * columns instead (no object per partition). Absent or without a node: the planner reads the Maps.
   */
  readonly columns?: ReadonlyMap<string, PartitionColumns>;
  /**
   * Tables whose inventory query failed (a view over a file that was moved, a view calling error()),
   * by node name, with the message naming the table. Only a snapshot read with `unreadable: 'report'`
   * (dag run) has them: their inventory reads as absent, and the run fails only their readers
   * (core/unreadable.ts, runner/loop.ts). Absent or empty: every table was read.
   */
  readonly unreadable?: ReadonlyMap<string, string>;
  readonly stats: { readonly queries: number };
}

/** Ledger rows recorded under `processor` for `table` that no processor of the pipeline owns. */
export interface OrphanedLedger {
  readonly processor: string;
  /** `schema.table`; undefined when the ledger does not know it (ledger version 1 rows). */
  readonly table: string | undefined;
  /** Partitions (dates) those rows cover. */
  readonly partitions: number;
}

/**
 * Is a partition present, from its inventory row and ledger entry (both already looked up, so the
 * planner's hot loop does no extra lookups)? An inventory row, or a ledger entry with zero rows (an
 * empty partition leaves no rows to find); a ledger entry with rows whose data is gone is absent.
 */
export function isPresent(info: PartitionInfo | undefined, entry: LedgerEntry | undefined): boolean {
  return info !== undefined || (entry !== undefined && entry.rows === 0);
}

/**
 * time(u), when a partition last changed, compared make-style: the ledger's builtAt when dag built
 * it, else the warehouse's changedAt; undefined when neither can tell.
 */
export function partitionTime(info: PartitionInfo | undefined, entry: LedgerEntry | undefined): number | undefined {
  return entry !== undefined ? entry.builtAt : info?.changedAt;
}

/** Source partition versions by source name, then day (what recordSourceVersions computed). */
export type SourceVersions = ReadonlyMap<string, ReadonlyMap<Day, string>>;

/** What recordSourceVersions did with the pending sources: their versions, and why a source had none. */
export interface RecordedVersions {
  readonly versions: SourceVersions;
  /** Sources whose versions could not be computed (e.g. a view that fails on some row), with the error. */
  readonly failed: ReadonlyMap<string, string>;
}

/**
 * Code fingerprint of a ledger row written before a command processor runs (rows -1): the command
 * writes its rows outside dag's transaction, so until dag records the finished batch the partition may
 * be half-written. It never equals a real fingerprint, so the planner rebuilds it (reason code_changed).
 */
export const UNFINISHED_PREFIX = 'unfinished:';

/** The marker fingerprint a command batch of run `runId` leaves until it finishes. */
export function unfinishedFingerprint(runId: string): string {
  return `${UNFINISHED_PREFIX}${runId}`;
}

/** The run whose command batch never finished, when a ledger fingerprint is such a marker. */
export function unfinishedRun(codeFingerprint: string): string | undefined {
  return codeFingerprint.startsWith(UNFINISHED_PREFIX) ? codeFingerprint.slice(UNFINISHED_PREFIX.length) : undefined;
}
