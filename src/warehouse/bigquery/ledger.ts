/**
 * The ledger dataset: its check (version and shape, once per process), its creation or migration
 * before the first write, and the writes outside batches: runs, failures and the run lock. The ledger
 * tables are append-only (INSERTs do not conflict with concurrent transactions the way DELETE/UPDATE
 * do); readers take the latest row. The lock is a best-effort row in `<ledger>.locks` (see
 * docs/bigquery.md for its limits).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BigQuery } from '@google-cloud/bigquery';
import { formatDay } from '../../core/dates.js';
import { tableName, type BigqueryTarget, type Pipeline } from '../../core/model.js';
import { isOlderLedger, judgeLedger, type LedgerState } from '../ledger-shape.js';
import type { BatchRecord, FailureRecord, LockOwner, LockResult, ProcessGroup, RunRecord } from '../port.js';
import { endOrphanGroups, ownerIsDead } from '../process.js';
import { classify, isNotFound } from './errors.js';
import { runJob } from './jobs.js';
import {
  acquireLockScript,
  compactLedgerScript,
  LEDGER_SPEC,
  LOCK_GROUP_COLUMNS,
  ledgerColumnsSql,
  ledgerDdl,
  ledgerVersionSql,
  lockColumnsDdl,
  migrateScript,
  recordBatchesSql,
  recordFailuresSql,
  recordLockGroupsSql,
  recordRunSql,
  relayoutScript,
  releaseLockSql,
} from './sql.js';

/** What the ledger check found, and how many queries it took (a snapshot counts them once). */
export interface LedgerCheck {
  readonly state: LedgerState;
  readonly queries: number;
  /** The locks table has the process columns a takeover needs (ledgers before them lack them). */
  readonly lockGroups?: boolean;
  /**
   * `partitions`' layout: partitioned (sql.ts PARTITIONS_LAYOUT); `old` for a ledger created before
   * (unpartitioned: every read scans its whole history); `interrupted` when a re-layout stopped between
   * dropping `partitions` and recreating it (its rows are in `partitions_relayout`). Absent: partitioned.
   */
  readonly layout?: 'partitioned' | 'old' | 'interrupted';
}

/** What `dag ledger compact` did. */
export interface Compaction {
  readonly before: number;
  readonly after: number;
}

/** Between SIGTERM and SIGKILL for a dead holder's command group (as on DuckDB). */
const ORPHAN_GRACE_MS = 1000;

/** Lock attempts that met a transaction conflict or a rate limit, retried even when not waiting. */
const LOCK_CONFLICT_RETRIES = 5;

/** The dag_processor label of jobs that serve the whole run (ledger DDL, lock, run records, snapshots). */
export const BOOKKEEPING = '_dag';

/** Failure rows per INSERT job: well under BigQuery's request size even with long messages. */
const FAILURE_ROWS_PER_JOB = 1_000;

export class LedgerWriter {
  private ready: Promise<void> | undefined;
  private checked: Promise<LedgerCheck> | undefined;
  private migration: Promise<void> | undefined;
  /** Set once this process created or migrated the ledger: it is then the current version. */
  private current = false;
  /** The run this process works for, once known (the lock is taken first); `plan` before that. */
  runId: string | undefined;
  /** Set once this process re-laid out `partitions` (from which layout): the run says so. */
  relaidOut: 'old' | 'interrupted' | undefined;

  constructor(
    private readonly client: BigQuery,
    private readonly target: BigqueryTarget,
  ) {}

  /** dag_run_id and dag_processor for a job: every job carries both, so billing can be grouped by them. */
  labels(processor: string = BOOKKEEPING, runId: string | undefined = this.runId): Record<string, string> {
    return { dag_run_id: runId ?? 'plan', dag_processor: processor };
  }

  /**
   * The ledger's state, checked once per process (its columns, then meta's version): throws a
   * WarehouseError('bad-ledger') for a newer or damaged ledger. `queries` counts the check's jobs on the first call only.
   */
  async check(): Promise<LedgerCheck> {
    if (this.current) return { state: 'current', queries: 0 };
    const first = this.checked === undefined;
    const checking = (this.checked ??= this.inspect().catch((error: unknown) => {
      this.checked = undefined;
      throw error;
    }));
    const found = await checking;
    // No ledger yet is asked again next time: another process may create one meanwhile.
    if (found.state === 'absent' && this.checked === checking) this.checked = undefined;
    return { ...found, queries: first ? found.queries : 0 };
  }

  private async inspect(): Promise<LedgerCheck> {
    const { project, ledgerSchema } = this.target;
    const context = { target: this.target, labels: this.labels() };
    let rows;
    try {
      rows = await runJob(this.client, ledgerColumnsSql(project, ledgerSchema), undefined, context);
    } catch (error) {
      if (isNotFound(error)) return { state: 'absent', queries: 1 };
      throw error;
    }
    const columns = new Map<string, string[]>();
    let partitioned = false;
    for (const row of rows) {
      const table = String(row.table_name);
      columns.set(table, [...(columns.get(table) ?? []), String(row.column_name)]);
      if (table === 'partitions' && row.column_name === 'partition_date' && row.is_partitioning_column === 'YES') partitioned = true;
    }
    // A re-layout stopped after dropping `partitions`: its rows are in the copy, judged in its place.
    const copy = columns.get('partitions_relayout');
    const interrupted = !columns.has('partitions') && copy !== undefined;
    if (interrupted) columns.set('partitions', copy);
    const hasMeta = ['key', 'value'].every((c) => columns.get('meta')?.includes(c));
    const versions = hasMeta ? (await runJob(this.client, ledgerVersionSql(project, ledgerSchema), undefined, context)).map((row) => String(row.value)) : [];
    const state = judgeLedger(
      LEDGER_SPEC,
      { columns, versions },
      {
        describe: `the ledger of target '${this.target.name}' (dataset ${project}.${ledgerSchema})`,
        table: (name) => `${ledgerSchema}.${name}`,
        startOver: `bq rm -r -d ${project}:${ledgerSchema}`,
        key: 'ledger_dataset',
      },
    );
    const lockGroups = LOCK_GROUP_COLUMNS.every((c) => columns.get('locks')?.includes(c));
    const layout = interrupted ? 'interrupted' : partitioned || state === 'absent' ? 'partitioned' : 'old';
    return { state, queries: hasMeta ? 2 : 1, lockGroups, layout };
  }

  /**
   * Before the first write: creates an absent ledger (version 2) and, for a version-1 ledger, any
   * table it lacked (not meta: the migration records the version last). Once per process.
   */
  ensure(): Promise<void> {
    this.ready ??= (async () => {
      const { state, lockGroups } = await this.check();
      const context = { target: this.target, labels: this.labels() };
      if (state !== 'current') await runJob(this.client, ledgerDdl(this.target.project, this.target.ledgerSchema, state === 'absent'), undefined, context);
      // A ledger from before the lock recorded command groups: add the columns (additive, idempotent).
      if (state !== 'absent' && lockGroups === false)
        await runJob(this.client, lockColumnsDdl(this.target.project, this.target.ledgerSchema), undefined, context);
      if (state === 'absent') this.current = true;
    })().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  /**
   * An older ledger becomes the current version before a run reads it or writes to it: from version 1,
   * table_name is added and filled from the pipeline's processor → table mapping (unknown processors
   * keep NULL); from version 1 or 2, the run summary columns and the batches table. Then a `partitions` of
   * the old layout (unpartitioned) is re-laid out, or an interrupted re-layout finished (relayoutScript). Once per process.
   */
  migrate(pipeline: Pipeline): Promise<void> {
    this.migration ??= (async () => {
      const { state, layout } = await this.check();
      const context = { target: this.target, labels: this.labels() };
      if (isOlderLedger(state)) {
        await this.ensure();
        const from = state === 'v1' ? 1 : 2;
        const mapping = from === 1 ? pipeline.processors.map((p) => ({ processor: p.name, table_name: tableName(p.table) })) : [];
        const script = migrateScript(this.target.project, this.target.ledgerSchema, from, mapping.length > 0);
        await runJob(this.client, script, mapping.length > 0 ? { mapping } : undefined, context);
      }
      // The caller holds the run lock: no batch of another run writes the ledger meanwhile.
      if (layout === 'old' || layout === 'interrupted') {
        await runJob(this.client, relayoutScript(this.target.project, this.target.ledgerSchema, layout === 'interrupted'), undefined, context);
        this.relaidOut = layout;
      }
      this.current = true;
    })().catch((error: unknown) => {
      this.migration = undefined;
      throw error;
    });
    return this.migration;
  }

  /** Keeps only each partition's latest ledger row (sql.ts compactLedgerScript); the caller holds the run lock. */
  async compact(pipeline: Pipeline): Promise<Compaction> {
    await this.ensure();
    await this.migrate(pipeline);
    const [row] = await runJob(this.client, compactLedgerScript(this.target.project, this.target.ledgerSchema), undefined, {
      target: this.target,
      labels: this.labels(),
    });
    return { before: Number(row?.before_rows ?? 0), after: Number(row?.after_rows ?? 0) };
  }

  async recordRun(run: RunRecord): Promise<void> {
    await this.ensure();
    const params = {
      run_id: run.runId,
      command_line: run.commandLine,
      target: run.target,
      started_at: run.startedAt,
      ended_at: run.endedAt ?? -1,
      outcome: run.outcome ?? '',
      range_start: run.summary ? formatDay(run.summary.range.start) : '',
      range_end: run.summary ? formatDay(run.summary.range.end) : '',
      built: run.summary?.built ?? -1,
      failed: run.summary?.failed ?? -1,
      upstream_failed: run.summary?.upstreamFailed ?? -1,
      blocked: run.summary?.blocked ?? -1,
    };
    await runJob(this.client, recordRunSql(this.target.project, this.target.ledgerSchema), params, {
      target: this.target,
      labels: this.labels(BOOKKEEPING, run.runId),
    });
  }

  /** One INSERT job per FAILURE_ROWS_PER_JOB rows (a year of failing days is one job, not 365). */
  async recordFailures(failures: readonly FailureRecord[]): Promise<void> {
    if (failures.length === 0) return;
    await this.ensure();
    for (let i = 0; i < failures.length; i += FAILURE_ROWS_PER_JOB) {
      const chunk = failures.slice(i, i + FAILURE_ROWS_PER_JOB);
      const rows = chunk.map((failure) => ({
        run_id: failure.runId,
        processor: failure.processor,
        partition_date: BigQuery.date(formatDay(failure.day)),
        category: failure.category,
        message: failure.message,
        attempt: Math.trunc(failure.attempt),
        failed_at: Math.trunc(failure.at),
      }));
      const processors = new Set(chunk.map((failure) => failure.processor));
      const first = chunk[0] as FailureRecord;
      await runJob(
        this.client,
        recordFailuresSql(this.target.project, this.target.ledgerSchema),
        { failures: rows },
        {
          target: this.target,
          // Billing groups jobs by processor: a job writing rows of several is bookkeeping.
          labels: this.labels(processors.size === 1 ? first.processor : BOOKKEEPING, first.runId),
        },
      );
    }
  }

  /** In jobs of at most 1,000 batches (query parameters are limited in size). */
  async recordBatches(batches: readonly BatchRecord[]): Promise<void> {
    if (batches.length === 0) return;
    await this.ensure();
    for (let i = 0; i < batches.length; i += 1000) {
      const rows = batches.slice(i, i + 1000).map((b) => ({
        run_id: b.runId,
        processor: b.processor,
        start_date: formatDay(b.start),
        end_date: formatDay(b.end),
        outcome: b.outcome,
        category: b.category ?? '',
        attempts: b.attempts,
        row_count: b.rows ?? -1,
        started_ms: b.startedAt ?? -1,
        ended_ms: b.endedAt ?? -1,
      }));
      await runJob(
        this.client,
        recordBatchesSql(this.target.project, this.target.ledgerSchema),
        { batches: rows },
        { target: this.target, labels: this.labels(BOOKKEEPING, batches[0]?.runId) },
      );
    }
  }

  async acquireLock(owner: LockOwner, waitMs: number): Promise<LockResult> {
    this.runId = owner.runId;
    await this.ensure();
    const deadline = Date.now() + waitMs;
    let takeover = '';
    let races = 0;
    let conflicts = 0;
    for (;;) {
      let holders: LockOwner[];
      try {
        holders = await this.tryLock(owner, takeover);
      } catch (error) {
        // Another run's lock script (a takeover, or a release) aborted ours, or a rate limit: that run
        // is taking or leaving the lock right now; look again soon, at a random moment, within the wait.
        if (classify(error) !== 'TRANSIENT' || (conflicts >= LOCK_CONFLICT_RETRIES && Date.now() >= deadline)) throw error;
        conflicts += 1;
        await sleep(jitter(Math.min(conflicts, 4)));
        continue;
      }
      const others = holders.filter((h) => h.runId !== owner.runId);
      const mine = others.length < holders.length;
      // Ours only if we are ALONE. Two runs' INSERTs do not conflict in BigQuery, so both may commit;
      // a run that saw only itself committed before the other looked, and the other then sees two rows.
      // Ordering the rows (by since or run id) would let both win: the first one never saw the second.
      if (mine && others.length === 0) return { ok: true };
      if (mine) await this.releaseLock(owner); // lost (or tied) a race: give our row back
      const first = others[0];
      if (!first) continue; // our row was not inserted: the holder left meanwhile
      let orphans: number[] = [];
      if (ownerIsDead(first)) {
        // A dead run's commands may still write: end them first (as the DuckDB lock does), and take
        // over only once none is left; survivors make us wait and are reported.
        orphans = await endOrphanGroups(first.groups ?? [], ORPHAN_GRACE_MS);
        if (orphans.length === 0) {
          takeover = first.runId;
          continue;
        }
      }
      takeover = '';
      // Both may have given their rows back after a tie: try again soon, at a random moment.
      if (mine && races < 3) {
        races += 1;
        await sleep(jitter(0));
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) return orphans.length > 0 ? { ok: false, holder: first, orphans } : { ok: false, holder: first };
      await sleep(Math.min(left, 5_000));
    }
  }

  private async tryLock(owner: LockOwner, takeover: string): Promise<LockOwner[]> {
    const params = {
      target: this.target.name,
      run_id: owner.runId,
      pid: owner.pid,
      host: owner.host,
      since: owner.since,
      command_line: owner.commandLine,
      process_start: owner.processStart ?? '',
      command_groups: JSON.stringify(owner.groups ?? []),
      ...(takeover ? { takeover_run_id: takeover } : {}),
    };
    const rows = await runJob(this.client, acquireLockScript(this.target.project, this.target.ledgerSchema, takeover !== ''), params, {
      target: this.target,
      labels: this.labels(BOOKKEEPING, owner.runId),
    });
    return rows.map((row) => {
      const groups = parseGroups(row.command_groups);
      return {
        runId: String(row.run_id),
        pid: Number(row.pid),
        host: String(row.host),
        since: Number(row.since_ms),
        commandLine: String(row.command_line),
        ...(row.process_start ? { processStart: String(row.process_start) } : {}),
        ...(groups.length > 0 ? { groups } : {}),
      };
    });
  }

  /** The owner's running commands' process groups, in its lock row, so a takeover can end them first. */
  async recordCommandGroups(owner: LockOwner, groups: readonly ProcessGroup[]): Promise<void> {
    const params = { target: this.target.name, run_id: owner.runId, command_groups: JSON.stringify(groups) };
    for (let attempt = 0; ; attempt++) {
      try {
        await runJob(this.client, recordLockGroupsSql(this.target.project, this.target.ledgerSchema), params, {
          target: this.target,
          labels: this.labels(BOOKKEEPING, owner.runId),
        });
        return;
      } catch (error) {
        // An UPDATE of the locks table may meet another run's lock script: retry, it is quick.
        if (classify(error) !== 'TRANSIENT' || attempt >= LOCK_CONFLICT_RETRIES) throw error;
        await sleep(jitter(attempt));
      }
    }
  }

  async releaseLock(owner: LockOwner): Promise<void> {
    await this.ensure();
    await runJob(
      this.client,
      releaseLockSql(this.target.project, this.target.ledgerSchema),
      { target: this.target.name, run_id: owner.runId },
      {
        target: this.target,
        labels: this.labels(BOOKKEEPING, owner.runId),
      },
    );
  }
}

/** About 400 ms × 2^step, spread over ± half, so two runs retrying together draw apart. */
function jitter(step: number): number {
  const base = 400 * 2 ** step;
  return base / 2 + Math.floor(Math.random() * base);
}

/** The lock row's command groups (JSON written by tryLock / recordCommandGroups); none when unreadable. */
function parseGroups(value: unknown): ProcessGroup[] {
  if (typeof value !== 'string' || value === '') return [];
  try {
    const parsed: unknown = JSON.parse(value);
    if (!Array.isArray(parsed)) return [];
    return parsed.flatMap((g: unknown) => {
      const group = g as { pgid?: unknown; start?: unknown };
      return typeof group.pgid === 'number' ? [{ pgid: group.pgid, ...(typeof group.start === 'string' ? { start: group.start } : {}) }] : [];
    });
  } catch {
    return [];
  }
}
