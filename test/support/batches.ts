/**
 * One batch through the Warehouse port's steps, as the runner takes them (access, stage, commit; or the
 * command protocol), for adapter tests that check what a batch writes without the scheduler.
 */
import type { Day } from '../../src/core/dates.js';
import { commandProtocol } from '../../src/runner/command.js';
import type { BatchJob, InputFingerprints, JobFailure, Warehouse } from '../../src/warehouse/port.js';

/** A job with the input fingerprints its ledger rows get. */
export type TestJob = BatchJob & { readonly inputFingerprints: InputFingerprints };

export type BatchOutcome =
  | { readonly ok: true; readonly rows: ReadonlyMap<Day, number>; readonly absent: readonly Day[] }
  | { readonly ok: false; readonly failure: JobFailure };

export type TestSpawner = (env: Readonly<Record<string, string>>, signal: AbortSignal) => Promise<JobFailure | undefined>;

export async function sqlBatch(warehouse: Warehouse, job: TestJob, signal: AbortSignal): Promise<BatchOutcome> {
  const access = await warehouse.access(job);
  if (!access.ok) return access;
  try {
    const staged = await warehouse.stageSqlBatch(job, signal);
    if (!staged.ok) return staged;
    const committed = await staged.value.commit(job.inputFingerprints, signal);
    return committed.ok ? { ok: true, rows: committed.value, absent: [] } : committed;
  } finally {
    access.value.release();
  }
}

export async function commandBatch(warehouse: Warehouse, job: TestJob, spawn: TestSpawner, signal: AbortSignal): Promise<BatchOutcome> {
  const access = await warehouse.access(job);
  if (!access.ok) return access;
  try {
    const end = await commandProtocol(warehouse, job, job.inputFingerprints, (env) => spawn(env, signal), {
      signal,
      step: (work) => work(),
      committing: () => {},
    });
    if (end.kind === 'built') return { ok: true, rows: end.rows, absent: end.absent };
    if (end.kind === 'failed') return { ok: false, failure: end.failure };
    throw new Error('abandoned without a grace period');
  } finally {
    access.value.release();
  }
}
