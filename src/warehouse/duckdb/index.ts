/**
 * The DuckDB adapter: the Warehouse port on an embedded database file. The file is attached under a
 * fixed alias (see connection.ts); the ledger lives in the target's ledger schema (`_dag`).
 * Command batches run exclusively (gate.ts) because only one process may have the file open to write.
 */
import { existsSync } from 'node:fs';
import type { DuckdbTarget, Pipeline, Processor } from '../../core/model.js';
import type { RecordedVersions, Snapshot } from '../../core/snapshot.js';
import type { OpenOptions } from '../open.js';
import {
  done,
  failed,
  type BatchJob,
  type BatchRecord,
  type FailureQuery,
  type PartitionFailures,
  type RunDetail,
  type CheckFinding,
  type FailureRecord,
  type HistoryLimits,
  type InputFingerprints,
  type JobAccess,
  type LockOwner,
  type LockResult,
  type ProcessGroup,
  type RowCounts,
  type RunHistory,
  type RunRecord,
  type SnapshotOptions,
  type StagedBatch,
  type Step,
  type Warehouse,
} from '../port.js';
import { batchLabel, firstLine } from '../shared.js';
import { CheckedColumns, stageSqlBatch } from './batch.js';
import { checkPartitions, commandEnv, markUnfinished, readPartitions, recordPartitions, reopenRetrying } from './command.js';
import { OpenDatabase, type SerialConnection, type StatementHook } from './connection.js';
import { ExclusiveGate } from './gate.js';
import { hasRunSummaries, isOlderLedger, type LedgerState } from '../ledger-shape.js';
import {
  createLedger,
  inspectLedger,
  migrateLedger,
  recordBatchesStatements,
  recordFailuresStatement,
  recordRunStatements,
  recordSourceVersions,
} from './ledger.js';
import { EMPTY_HISTORY } from '../history-rows.js';
import { readDuckdbFailures, readDuckdbHistory, readDuckdbRun } from './history.js';
import { acquireFileLock, recordLockGroups, releaseFileLock } from './lock.js';
import { openAfterLock } from './lock-first.js';
import { dropProcessorStatements } from './refresh.js';
import { emptySnapshot, readDuckdbSnapshot } from './snapshot.js';
import { statementLog } from './sql-log.js';
import { qualifiedSchema } from './sql.js';

export interface DuckdbOptions extends OpenOptions {
  /** Sees every SQL statement the adapter issues, in order (golden tests, debugging). */
  readonly onStatement?: StatementHook;
}

/** Extra connections readSnapshot uses to run inventory queries side by side. */
const SNAPSHOT_PARALLELISM = 2;

/**
 * The buffer pool's bound while a read-only snapshot reads many processor tables (snapshot.ts
 * BOUNDED_FROM_TABLES): 2,000 tables' inventories read in 1.0 s under 64 MB against 2.2 s
 * unbounded, 1.2 s under 32 MB, 1.4 s under 128 MB (issue 15, bench/README.md).
 */
const SNAPSHOT_BOUND = '64MB';

/** Read-only opens started early (prefetchDuckdb), by file path; each taken once. */
const prefetched = new Map<string, Promise<OpenDatabase>>();

/**
 * Starts a read-only open of the target's file and returns once its ATTACH is under way (DuckDB
 * attaches on its own thread); the next read-only openDuckdb of the file takes it instead of opening
 * again. Its statements go to the log `env` names (DAG_LOG_SQL), as openDuckdb's would, so an open
 * given its own statement hook never takes it.
 */
export async function prefetchDuckdb(target: DuckdbTarget, env: DuckdbOptions['env']): Promise<void> {
  if (prefetched.has(target.path) || !existsSync(target.path)) return;
  const { attached } = await OpenDatabase.begin(target.path, true, statementLog(env));
  attached.catch(() => undefined); // reported when taken; a command that never opens leaves it to the exit
  prefetched.set(target.path, attached);
}

function takePrefetched(target: DuckdbTarget, options: DuckdbOptions): Promise<OpenDatabase> | undefined {
  const attached = prefetched.get(target.path);
  if (!attached || !options.readOnly) return undefined;
  prefetched.delete(target.path);
  return attached;
}

export async function openDuckdb(target: DuckdbTarget, options: DuckdbOptions): Promise<Warehouse> {
  // Started while the pipeline loaded (the CLI's read-only commands): its statement hook is the log's.
  const early = options.onStatement === undefined ? takePrefetched(target, options) : undefined;
  if (early) return openedDuckdb(target, { ...options, onStatement: statementLog(options.env) }, await early);
  const logged = options.onStatement === undefined ? statementLog(options.env) : undefined;
  if (logged) return openDuckdb(target, { ...options, onStatement: logged });
  // `dag run`: take dag's lock before opening the file (see lock-first.ts).
  if (options.lockFirst && !options.readOnly)
    return openAfterLock(target.name, `${target.path}.lock`, () => openDuckdb(target, { ...options, lockFirst: false }));
  if (options.readOnly && !existsSync(target.path)) return new DuckdbWarehouse(target, options, undefined);
  return openedDuckdb(target, options, await OpenDatabase.open(target.path, options.readOnly, options.onStatement));
}

/** The warehouse on an opened file: the ledger's version and shape checked first. */
async function openedDuckdb(target: DuckdbTarget, options: DuckdbOptions, db: OpenDatabase): Promise<Warehouse> {
  let ledger: LedgerState;
  try {
    // Every open checks the ledger's version and shape (a newer or damaged one is refused here, before
    // anything is read or written); a writable open creates an absent one. A version-1 ledger is
    // migrated on first use, once the pipeline's processor → table mapping is known.
    ledger = await inspectLedger(db.main, target);
    if (!options.readOnly && ledger === 'absent') {
      await createLedger(db.main, target.ledgerSchema);
      ledger = 'current';
    }
  } catch (error) {
    db.close();
    throw error;
  }
  return new DuckdbWarehouse(target, options, db, ledger);
}

class DuckdbWarehouse implements Warehouse {
  readonly targetName: string;
  private readonly gate = new ExclusiveGate();
  private readonly schemasMade = new Map<string, Promise<void>>();
  private readonly checkedColumns = new CheckedColumns();
  private migration: Promise<void> | undefined;

  constructor(
    private readonly target: DuckdbTarget,
    private readonly options: DuckdbOptions,
    /** Undefined: opened read-only on a file that does not exist yet (an empty warehouse). */
    private db: OpenDatabase | undefined,
    /** What the open found; 'v1' until migrated (writable) or for good (read-only). */
    private ledger: LedgerState = 'absent',
  ) {
    this.targetName = target.name;
  }

  async readSnapshot(pipeline: Pipeline, nodes: readonly string[], options: SnapshotOptions = {}): Promise<Snapshot> {
    const snapshot = await this.gate.shared(async () => {
      const db = this.db;
      if (!db) return emptySnapshot(pipeline, nodes);
      if (!this.options.readOnly) await this.migrated(pipeline);
      const pool: SerialConnection[] = [];
      try {
        for (let i = 0; i < SNAPSHOT_PARALLELISM; i++) pool.push(await db.connect());
        const reader = {
          main: db.main,
          pool,
          ledgerSchema: this.target.ledgerSchema,
          targetName: this.target.name,
          byTable: this.ledger !== 'v1',
          unreadable: options.unreadable ?? 'throw',
          ...(this.options.readOnly ? { bounded: <T>(work: () => Promise<T>) => db.bounded(SNAPSHOT_BOUND, work) } : {}),
        };
        return await readDuckdbSnapshot(reader, pipeline, nodes);
      } finally {
        for (const connection of pool) connection.close();
      }
    });
    // Read-only: little is read after the snapshot, so DuckDB's memory (the blocks of every table read,
    // hundreds of MB for thousands of tables) goes back before planning adds its own (issue 15). Alone:
    // a query running beside the low limit could fail for memory or spill.
    if (this.options.readOnly)
      await this.gate.exclusive(
        async () => this.db?.releaseMemory(),
        async () => undefined,
      );
    return snapshot;
  }

  /**
   * An older ledger becomes the current version before anything reads it for a run or writes to it, in one
   * transaction, with the processor → table mapping of the pipeline being run. Once per process.
   */
  private migrated(pipeline: Pipeline): Promise<void> {
    const from = this.ledger;
    if (!isOlderLedger(from)) return Promise.resolve();
    this.migration ??= migrateLedger(this.writable().main, this.target.ledgerSchema, from, pipeline).then(
      () => void (this.ledger = 'current'),
      (error: unknown) => {
        this.migration = undefined;
        throw error;
      },
    );
    return this.migration;
  }

  /**
   * SQL batches share the file (each on its own connection); a command has it alone, since its own
   * process must open it. After a hold was abandoned the file cannot be had alone any more.
   */
  async access(job: BatchJob): Promise<Step<JobAccess>> {
    const hold = job.processor.action.kind === 'sql' ? await this.gate.acquireShared() : await this.gate.acquireExclusive();
    if (!hold)
      return failed({
        category: 'PROCESSOR_ERROR',
        message: `${batchLabel(job)}: not started: a job abandoned earlier in this run may still use the DuckDB file, and a command needs it alone; run again`,
      });
    // The ledger is the current version before any batch writes to it (readSnapshot normally did it already).
    try {
      await this.migrated(job.pipeline);
    } catch (error) {
      hold.release();
      return failed({ category: 'PROCESSOR_ERROR', message: `${batchLabel(job)}: migrating the ledger to the current version failed: ${firstLine(error)}` });
    }
    return done(hold);
  }

  /** The caller holds shared access; the staged batch keeps its connection until commit or discard. */
  async stageSqlBatch(job: BatchJob, signal: AbortSignal): Promise<Step<StagedBatch>> {
    const db = this.writable();
    try {
      await this.ensureSchema(job.processor.table.schema);
    } catch (error) {
      return failed({ category: 'TRANSIENT', message: `${batchLabel(job)}: creating schema ${job.processor.table.schema} failed: ${firstLine(error)}` });
    }
    const connection = await db.connect();
    const staged = await stageSqlBatch(connection, this.target.ledgerSchema, job, signal, this.checkedColumns);
    if (!staged.ok) {
      connection.close();
      return staged;
    }
    return done({
      findings: staged.value.findings,
      commit: async (fingerprints, commitSignal) => {
        try {
          return await staged.value.commit(fingerprints, commitSignal);
        } finally {
          connection.close();
        }
      },
      discard: async () => {
        await staged.value.discard();
        connection.close();
      },
    });
  }

  // The command steps run while the runner holds the file exclusively (runner/command.ts).
  markUnfinished(job: BatchJob): Promise<Step<void>> {
    return markUnfinished(this.writable(), this.target.ledgerSchema, job);
  }

  async handOver(job: BatchJob): Promise<Step<Readonly<Record<string, string>>>> {
    const db = this.writable();
    try {
      const env = await commandEnv(db, this.target.path, job);
      db.close();
      this.db = undefined;
      return done(env);
    } catch (error) {
      return failed({ category: 'TRANSIENT', message: `${batchLabel(job)}: handing the DuckDB file to the command failed: ${firstLine(error)}` });
    }
  }

  async takeBack(job: BatchJob): Promise<Step<void>> {
    if (this.db) return done(undefined);
    try {
      this.db = await reopenRetrying(() => OpenDatabase.open(this.target.path, false, this.options.onStatement));
      return done(undefined);
    } catch (error) {
      return failed({ category: 'PROCESSOR_ERROR', message: `${batchLabel(job)}: cannot reopen the DuckDB file after the command: ${firstLine(error)}` });
    }
  }

  readPartitions(job: BatchJob): Promise<Step<RowCounts>> {
    return readPartitions(this.writable(), job);
  }

  checkPartitions(job: BatchJob): Promise<Step<readonly CheckFinding[]>> {
    return checkPartitions(this.writable(), job);
  }

  recordPartitions(
    job: BatchJob,
    rows: RowCounts,
    fingerprints: InputFingerprints,
    _signal?: AbortSignal,
    findings: readonly CheckFinding[] = [],
  ): Promise<Step<void>> {
    return recordPartitions(this.writable(), this.target.ledgerSchema, job, rows, fingerprints, findings);
  }

  // On its own connection: hashing pending sources overlaps the first batches (and a command, which
  // needs the file alone, waits at the gate until it is done).
  recordSourceVersions(pipeline: Pipeline, snapshot: Snapshot, at: number, signal?: AbortSignal): Promise<RecordedVersions> {
    return this.gate.shared(async () => {
      const connection = await this.writable().connect();
      const interrupt = (): void => connection.interrupt();
      signal?.addEventListener('abort', interrupt, { once: true });
      try {
        return await recordSourceVersions(connection, this.target.ledgerSchema, pipeline, snapshot, at);
      } finally {
        signal?.removeEventListener('abort', interrupt);
        connection.close();
      }
    });
  }

  recordRun(run: RunRecord): Promise<void> {
    return this.gate.shared(() => this.writable().main.runAll(recordRunStatements(this.target.ledgerSchema, run)));
  }

  recordFailures(failures: readonly FailureRecord[]): Promise<void> {
    if (failures.length === 0) return Promise.resolve();
    return this.gate.shared(() => this.writable().main.run(recordFailuresStatement(this.target.ledgerSchema, failures)));
  }

  recordBatches(batches: readonly BatchRecord[]): Promise<void> {
    return this.gate.shared(() => this.writable().main.runAll(recordBatchesStatements(this.target.ledgerSchema, batches)));
  }

  acquireLock(owner: LockOwner, waitMs: number): Promise<LockResult> {
    return acquireFileLock(`${this.target.path}.lock`, owner, waitMs);
  }

  recordCommandGroups(owner: LockOwner, groups: readonly ProcessGroup[]): Promise<void> {
    return recordLockGroups(`${this.target.path}.lock`, owner, groups);
  }

  releaseLock(owner: LockOwner): Promise<void> {
    return releaseFileLock(`${this.target.path}.lock`, owner);
  }

  dropProcessorTable(processor: Processor): Promise<void> {
    return this.gate.shared(async () => {
      await this.writable().main.runAll(dropProcessorStatements(this.target.ledgerSchema, processor));
      this.checkedColumns.forget(processor.name);
    });
  }

  readRecentRuns(limits: HistoryLimits): Promise<RunHistory> {
    return this.gate.shared(async () =>
      this.db ? readDuckdbHistory(this.db.main, this.target.ledgerSchema, limits, hasRunSummaries(this.ledger)) : EMPTY_HISTORY,
    );
  }

  readRun(runId: string): Promise<RunDetail | undefined> {
    return this.gate.shared(async () => (this.db ? readDuckdbRun(this.db.main, this.target.ledgerSchema, runId, hasRunSummaries(this.ledger)) : undefined));
  }

  readFailures(query: FailureQuery): Promise<PartitionFailures> {
    return this.gate.shared(async () =>
      this.db ? readDuckdbFailures(this.db.main, this.target.ledgerSchema, query, hasRunSummaries(this.ledger)) : { failures: [], truncated: false },
    );
  }

  async estimateBytes(): Promise<number | undefined> {
    return undefined;
  }

  /** After an abandoned job the instance is left open: closing it could wait for that job's connection. */
  async close(): Promise<void> {
    await this.gate.exclusive(
      async () => {
        this.db?.close(this.options.readOnly && this.options.processExits === true);
        this.db = undefined;
      },
      async () => {
        this.db = undefined;
      },
    );
  }

  private writable(): OpenDatabase {
    if (this.options.readOnly) throw new Error(`the duckdb target ${this.target.name} was opened read-only`);
    if (!this.db) throw new Error(`the duckdb target ${this.target.name} is closed`);
    return this.db;
  }

  /** Creates a table's schema once, outside batch transactions, so concurrent batches never race on it. */
  private ensureSchema(schema: string): Promise<void> {
    let made = this.schemasMade.get(schema);
    if (!made) {
      made = this.writable().main.run(`CREATE SCHEMA IF NOT EXISTS ${qualifiedSchema(schema)}`);
      made.catch(() => this.schemasMade.delete(schema));
      this.schemasMade.set(schema, made);
    }
    return made;
  }
}
