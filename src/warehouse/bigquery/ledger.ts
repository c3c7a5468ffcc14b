/**
 * Ledger writes outside batches: runs, failures and the run lock. The ledger tables are append-only
 * (INSERTs do not conflict with concurrent transactions the way DELETE/UPDATE do); readers take the
 * latest row. The lock is a best-effort row in `<ledger>.locks` (see docs/bigquery.md for its limits).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BigQuery } from '@google-cloud/bigquery';
import { formatDay } from '../../core/dates.js';
import type { BigqueryTarget } from '../../core/model.js';
import type { FailureRecord, LockOwner, LockResult, RunRecord } from '../port.js';
import { holderIsDeadHere } from '../shared.js';
import { runJob } from './jobs.js';
import { acquireLockScript, ledgerDdl, recordFailureSql, recordRunSql, releaseLockSql } from './sql.js';

/** The dag_processor label of jobs that serve the whole run (ledger DDL, lock, run records, snapshots). */
export const BOOKKEEPING = '_dag';

export class LedgerWriter {
  private ready: Promise<void> | undefined;
  /** The run this process works for, once known (the lock is taken first); `plan` before that. */
  runId: string | undefined;

  constructor(
    private readonly client: BigQuery,
    private readonly target: BigqueryTarget,
  ) {}

  /** dag_run_id and dag_processor for a job: every job carries both, so billing can be grouped by them. */
  labels(processor: string = BOOKKEEPING, runId: string | undefined = this.runId): Record<string, string> {
    return { dag_run_id: runId ?? 'plan', dag_processor: processor };
  }

  /** Creates the ledger dataset and tables once per process, before the first write. */
  ensure(): Promise<void> {
    this.ready ??= runJob(this.client, ledgerDdl(this.target.project, this.target.ledgerSchema), undefined, { target: this.target, labels: this.labels() }).then(
      () => undefined,
      (error: unknown) => {
        this.ready = undefined;
        throw error;
      },
    );
    return this.ready;
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
    };
    await runJob(this.client, recordRunSql(this.target.project, this.target.ledgerSchema), params, { target: this.target, labels: this.labels(BOOKKEEPING, run.runId) });
  }

  async recordFailure(failure: FailureRecord): Promise<void> {
    await this.ensure();
    const params = {
      run_id: failure.runId,
      processor: failure.processor,
      partition_date: BigQuery.date(formatDay(failure.day)),
      category: failure.category,
      message: failure.message,
      attempt: failure.attempt,
      failed_at: failure.at,
    };
    await runJob(this.client, recordFailureSql(this.target.project, this.target.ledgerSchema), params, {
      target: this.target,
      labels: this.labels(failure.processor, failure.runId),
    });
  }

  async acquireLock(owner: LockOwner, waitMs: number): Promise<LockResult> {
    this.runId = owner.runId;
    await this.ensure();
    const deadline = Date.now() + waitMs;
    let takeover = '';
    let races = 0;
    for (;;) {
      const holders = await this.tryLock(owner, takeover);
      const others = holders.filter((h) => h.runId !== owner.runId);
      const mine = others.length < holders.length;
      // Ours only if we are ALONE. Two runs' INSERTs do not conflict in BigQuery, so both may commit;
      // a run that saw only itself committed before the other looked, and the other then sees two rows.
      // Ordering the rows (by since or run id) would let both win: the first one never saw the second.
      if (mine && others.length === 0) return { ok: true };
      if (mine) await this.releaseLock(owner); // lost (or tied) a race: give our row back
      const first = others[0];
      if (!first) continue; // our row was not inserted: the holder left meanwhile
      if (holderIsDeadHere(first)) {
        takeover = first.runId;
        continue;
      }
      takeover = '';
      // Both may have given their rows back after a tie: try again soon, at a random moment.
      if (mine && races < 3) {
        races += 1;
        await sleep(200 + Math.floor(Math.random() * 800));
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) return { ok: false, holder: first };
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
      takeover_run_id: takeover,
    };
    const rows = await runJob(this.client, acquireLockScript(this.target.project, this.target.ledgerSchema), params, {
      target: this.target,
      labels: this.labels(BOOKKEEPING, owner.runId),
    });
    return rows.map((row) => ({
      runId: String(row.run_id),
      pid: Number(row.pid),
      host: String(row.host),
      since: Number(row.since_ms),
      commandLine: String(row.command_line),
    }));
  }

  async releaseLock(owner: LockOwner): Promise<void> {
    await this.ensure();
    await runJob(this.client, releaseLockSql(this.target.project, this.target.ledgerSchema), { target: this.target.name, run_id: owner.runId }, {
      target: this.target,
      labels: this.labels(BOOKKEEPING, owner.runId),
    });
  }
}
