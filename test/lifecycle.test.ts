/**
 * The runner as a lifecycle, on a fake clock and an in-memory warehouse: timeouts count a job's own
 * time, a job that does not stop is abandoned after its grace period, a commit under way is never
 * reported cancelled, and failing well (one job per mistake, halves for a bad day, no split for a
 * TIMEOUT). No test here waits for real time.
 */
import { describe, expect, it } from 'vitest';
import type { Pipeline } from '../src/core/model.js';
import type { Plan } from '../src/core/plan.js';
import type { Snapshot } from '../src/core/snapshot.js';
import { runPlan, type RunEvent, type RunnerOptions, type RunResult } from '../src/runner/index.js';
import { done, type JobFailure } from '../src/warehouse/port.js';
import { emptySnapshot, fail, FakeTimers, MemoryWarehouse, ok, pipelineOf, planOf, processor, runnerOptions } from './support/memory-warehouse.js';

function options(pipeline: Pipeline, plan: Plan, warehouse: MemoryWarehouse, timers: FakeTimers, extra: Partial<RunnerOptions> = {}) {
  return runnerOptions(pipeline, plan, warehouse, { timers, graceMs: 3_000, ...extra });
}

/** Runs the plan while moving the fake clock forward `ms` (in steps), and returns the result. */
async function runFor(opts: RunnerOptions, timers: FakeTimers, ms: number): Promise<RunResult> {
  const running = runPlan(opts);
  let result: RunResult | undefined;
  void running.then((r) => (result = r));
  for (let t = 0; t < ms && result === undefined; t += 250) await timers.advance(250);
  return running;
}

const statuses = (events: RunEvent[], name: string) => events.flatMap((e) => (e.kind === 'task' && e.task.processor.name === name ? [e.status.status] : []));
const interrupted = (signal: AbortSignal) =>
  new Promise<ReturnType<typeof fail>>((resolve) => signal.addEventListener('abort', () => resolve(fail({ category: 'CANCELLED', message: 'interrupted' }))));

describe('the task lifecycle', () => {
  it('takes a batch through pending, queued, running, committing, built, each change an event', async () => {
    const timers = new FakeTimers();
    const a = processor('A');
    const opts = options(pipelineOf([a]), planOf([a], 3), new MemoryWarehouse(), timers);
    const result = await runFor(opts, timers, 1_000);
    expect(statuses(opts.events, 'A')).toEqual(['pending', 'queued', 'running', 'committing', 'built']);
    expect(result.processors[0]?.built).toEqual([1, 2, 3]);
  });

  it('times out on its own clock: TIMEOUT exactly at `timeout`, recorded once', async () => {
    const timers = new FakeTimers();
    const slow = processor('SLOW', [], { timeoutMs: 5_000, retries: 0 });
    const warehouse = new MemoryWarehouse((_job, signal) => interrupted(signal));
    const opts = options(pipelineOf([slow]), planOf([slow], 3), warehouse, timers);
    const running = runPlan(opts);
    await timers.advance(4_900);
    expect(statuses(opts.events, 'SLOW')).toEqual(['pending', 'queued', 'running']);
    await timers.advance(200);
    const result = await running;
    // Not split: a TIMEOUT would only be waited for again, half by half.
    expect(warehouse.jobs).toHaveLength(1);
    expect(result.processors[0]?.failed.map((f) => f.category)).toEqual(['TIMEOUT', 'TIMEOUT', 'TIMEOUT']);
    expect(result.processors[0]?.failed[0]?.message).toBe('timed out after 5s and was cancelled (interrupted)');
    expect(warehouse.failures.map((f) => [f.day, f.category])).toEqual([
      [1, 'TIMEOUT'],
      [2, 'TIMEOUT'],
      [3, 'TIMEOUT'],
    ]);
  });

  it('does not count the wait for source versions (waiting-inputs) against the timeout, and resumes with what is left', async () => {
    const src = processor('SRC');
    const snapshot: Snapshot = { ...emptySnapshot, pendingVersions: new Set(['SRC']) };
    for (const [timeoutMs, expected] of [
      [400, 'TIMEOUT'],
      [600, 'built'],
    ] as const) {
      const timers = new FakeTimers();
      const reader = processor('READER', ['SRC'], { timeoutMs, retries: 0, batchSize: 1 });
      // 250 ms of staging, 500 ms waiting for the versions, 250 ms of commit: 500 ms of its own.
      const warehouse = new MemoryWarehouse(async (job, signal) =>
        (await timers.sleep(250, signal)) ? fail({ category: 'CANCELLED', message: 'interrupted' }) : ok(job),
      );
      warehouse.commitDelay = async (_job, signal) => void (await timers.sleep(250, signal));
      warehouse.recordSourceVersions = async () => {
        await timers.sleep(750);
        return { versions: new Map(), failed: new Map() };
      };
      const opts = options(pipelineOf([src, reader]), planOf([reader], 1), warehouse, timers, { snapshot });
      const result = await runFor(opts, timers, 5_000);
      expect(statuses(opts.events, 'READER')).toContain('waiting-inputs');
      if (expected === 'built') expect(result.processors[0]?.built, `timeout ${timeoutMs}`).toEqual([1]);
      else expect(result.processors[0]?.failed[0]?.category, `timeout ${timeoutMs}`).toBe('TIMEOUT');
    }
  });

  it('a command reading a source whose versions are being recorded waits for them before it queues', async () => {
    const timers = new FakeTimers();
    const src = processor('SRC');
    const cmd = processor('CMD', ['SRC'], { action: { kind: 'command', argv: ['true'] }, batchSize: 2 });
    const warehouse = new MemoryWarehouse();
    let recorded = false;
    warehouse.recordSourceVersions = async () => {
      await timers.sleep(1_000);
      recorded = true;
      return { versions: new Map(), failed: new Map() };
    };
    const ran: boolean[] = [];
    const opts = options(pipelineOf([src, cmd]), planOf([cmd], 2), warehouse, timers, {
      snapshot: { ...emptySnapshot, pendingVersions: new Set(['SRC']) },
      commands: async () => void ran.push(recorded),
    });
    const result = await runFor(opts, timers, 3_000);
    expect(statuses(opts.events, 'CMD')).toEqual(['pending', 'waiting-inputs', 'queued', 'running', 'committing', 'built']);
    expect(ran).toEqual([true]);
    expect(result.processors[0]?.built).toEqual([1, 2]);
  });

  it('abandons a job that does not stop within the grace period; the run goes on and ends', async () => {
    const timers = new FakeTimers();
    const stuck = processor('STUCK', [], { timeoutMs: 3_000, retries: 0, batchSize: 1 });
    const fine = processor('FINE', [], { batchSize: 1 });
    let abandoned = 0;
    // A read blocked in the kernel: the interrupt changes nothing.
    const warehouse = new MemoryWarehouse((job) => (job.processor.name === 'STUCK' ? new Promise(() => {}) : Promise.resolve(ok(job))));
    warehouse.access = async () => done({ release: () => {}, abandon: () => void (abandoned += 1) });
    const opts = options(pipelineOf([stuck, fine]), planOf([stuck, fine], 1), warehouse, timers);
    const running = runPlan(opts);
    await timers.advance(5_900);
    expect(statuses(opts.events, 'STUCK').at(-1)).toBe('running');
    await timers.advance(200);
    const result = await running;
    expect(statuses(opts.events, 'STUCK').at(-1)).toBe('abandoned');
    expect(result.processors.find((p) => p.name === 'FINE')?.built).toEqual([1]);
    const failure = result.processors.find((p) => p.name === 'STUCK')?.failed[0];
    expect(failure?.category).toBe('TIMEOUT');
    expect(failure?.message).toMatch(/^timed out after 3s and was cancelled; it did not stop within 3s and was abandoned/);
    expect(warehouse.failures.map((f) => f.category)).toEqual(['TIMEOUT']);
    expect(result.totals.abandoned).toBe(1);
    expect(result.lingering).toBe(true);
    expect(abandoned).toBe(1);
  });

  it('a commit under way when the run is cancelled is reported built, as the ledger has it', async () => {
    const timers = new FakeTimers();
    const a = processor('A', [], { batchSize: 1, concurrency: 2 });
    const controller = new AbortController();
    const warehouse = new MemoryWarehouse(async (job, signal) => (job.batch.start === 1 ? ok(job) : interrupted(signal)));
    // The commit of day 1 takes 1 s (and ignores the cancel, as a COMMIT does); Ctrl-C comes meanwhile.
    warehouse.commitDelay = () => timers.sleep(1_000).then(() => undefined);
    const opts = options(pipelineOf([a]), planOf([a], 4), warehouse, timers, { signal: controller.signal });
    const running = runPlan(opts);
    await timers.advance(500);
    controller.abort();
    await timers.advance(2_000);
    const result = await running;
    expect(result.outcome).toBe('cancelled');
    // The summary says what the ledger says: built what committed, nothing cancelled that committed.
    expect(result.processors[0]?.built).toEqual([...(warehouse.committed.get('A')?.keys() ?? [])]);
    expect(result.processors[0]?.built).toEqual([1]);
    expect(result.processors[0]?.cancelled).toEqual([2, 3, 4]);
    expect(warehouse.failures).toEqual([]);
  });
});

describe('failing well', () => {
  const binder: JobFailure = { category: 'PROCESSOR_ERROR', message: 'Binder Error: column "scroe" not found', dataIndependent: true };

  it('a data-independent error fails the whole processor once: one job, one message, a ledger row per partition', async () => {
    const timers = new FakeTimers();
    const bad = processor('BAD', [], { batchSize: 7 });
    const child = processor('CHILD', ['BAD'], { batchSize: 7 });
    const warehouse = new MemoryWarehouse(async (job) => (job.processor.name === 'BAD' ? fail(binder) : ok(job)));
    // The table exists: nothing but the first-batch rule keeps the other batches from starting at once.
    const tables = new Map([['BAD', { exists: true, partitions: new Map() }]]);
    const opts = options(pipelineOf([bad, child]), planOf([bad, child], 30), warehouse, timers, { snapshot: { ...emptySnapshot, tables } });
    const result = await runFor(opts, timers, 1_000);
    expect(warehouse.jobs).toHaveLength(1);
    const failed = result.processors[0]?.failed ?? [];
    expect(failed).toHaveLength(30);
    expect(new Set(failed.map((f) => f.message))).toEqual(new Set([binder.message]));
    expect(result.processors[1]?.upstreamFailed).toHaveLength(30);
    expect(warehouse.failures.filter((f) => f.processor === 'BAD')).toHaveLength(30);
  });

  it('one bad day of 31: halves until it is found, 30 built, at most 12 jobs', async () => {
    const timers = new FakeTimers();
    const a = processor('A', [], { batchSize: 31, retries: 0 });
    const warehouse = new MemoryWarehouse(async (job) =>
      job.batch.days.includes(17)
        ? fail({ category: 'PROCESSOR_ERROR', message: `A ${job.batch.start}..${job.batch.end}: Conversion Error: could not convert 'x'` })
        : ok(job),
    );
    const opts = options(pipelineOf([a]), planOf([a], 31), warehouse, timers);
    const result = await runFor(opts, timers, 1_000);
    expect(result.processors[0]?.built).toHaveLength(30);
    expect(result.processors[0]?.failed.map((f) => f.day)).toEqual([17]);
    expect(warehouse.jobs.length).toBeLessThanOrEqual(12);
    expect(result.totals.jobs).toBe(warehouse.jobs.length);
  });

  it('an error on every day: the batch and its two halves, then it stops (3 jobs)', async () => {
    const timers = new FakeTimers();
    const a = processor('A', [], { batchSize: 31, retries: 0 });
    const warehouse = new MemoryWarehouse(async () => fail({ category: 'PROCESSOR_ERROR', message: 'Conversion Error: could not convert string' }));
    const opts = options(pipelineOf([a]), planOf([a], 31), warehouse, timers);
    const result = await runFor(opts, timers, 1_000);
    expect(warehouse.jobs.map((j) => j.batch.days.length)).toEqual([31, 16, 15]);
    expect(result.processors[0]?.failed).toHaveLength(31);
  });

  it('a transient error is retried after its backoff, then the batch is split like any other', async () => {
    const timers = new FakeTimers();
    const a = processor('A', [], { batchSize: 2, retries: 1 });
    const warehouse = new MemoryWarehouse(async (job) =>
      job.batch.days.length > 1 ? fail({ category: 'TRANSIENT', message: 'IO Error: conflict' }) : ok(job),
    );
    const opts = options(pipelineOf([a]), planOf([a], 2), warehouse, timers);
    const result = await runFor(opts, timers, 1_000);
    expect(warehouse.jobs.map((j) => j.batch.days)).toEqual([[1, 2], [1, 2], [1], [2]]);
    expect(result.processors[0]?.built).toEqual([1, 2]);
    expect(statuses(opts.events, 'A').slice(0, 6)).toEqual(['pending', 'queued', 'running', 'queued', 'running', 'split']);
  });
});
