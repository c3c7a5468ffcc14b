/**
 * The scheduler on an in-memory warehouse (the port, not DuckDB): partition-level readiness,
 * concurrency caps, failure isolation, splitting, transient retries, timeouts, builtAt. Lifecycle
 * tests on a fake clock are in lifecycle.test.ts.
 * The same behaviours run against a real DuckDB file through the CLI in test/run*.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Day } from '../src/core/dates.js';
import type { Snapshot } from '../src/core/snapshot.js';
import { createBuildClock } from '../src/runner/clock.js';
import { runPlan } from '../src/runner/index.js';
import { emptySnapshot, fail, MemoryWarehouse, ok, pipelineOf, planOf, processor, runnerOptions } from './support/memory-warehouse.js';

const tick = () => new Promise((r) => setTimeout(r, 5));

const options = runnerOptions;

describe('runner scheduling', () => {
  it('starts a downstream batch as soon as the upstream partitions it reads are built', async () => {
    const a = processor('A');
    const b = processor('B', ['A']);
    const pipeline = pipelineOf([a, b]);
    let releaseSecond!: () => void;
    const secondGate = new Promise<void>((r) => (releaseSecond = r));
    const warehouse = new MemoryWarehouse(async (job) => {
      if (job.processor.name === 'A' && job.batch.start === 4) await secondGate;
      if (job.processor.name === 'B' && job.batch.start === 1) releaseSecond();
      return ok(job);
    });
    const result = await runPlan(options(pipeline, planOf([a, b], 6), warehouse, { concurrency: 2 }));
    expect(result.totals.built).toBe(12);
    // B 1-3 started while A 4-6 was still running: B waited for A's partitions, not for all of A.
    expect(warehouse.log.indexOf('start B:1-3')).toBeLessThan(warehouse.log.indexOf('end A:4-6'));
  });

  it('never exceeds the global or a processor concurrency', async () => {
    const a = processor('A', [], { batchSize: 1, concurrency: 2 });
    const b = processor('B', [], { batchSize: 1 });
    const warehouse = new MemoryWarehouse(async (job) => {
      await tick();
      return ok(job);
    });
    const result = await runPlan(options(pipelineOf([a, b]), planOf([a, b], 8), warehouse, { concurrency: 3 }));
    expect(result.totals.built).toBe(16);
    expect(warehouse.maxInFlight).toBe(3);
    expect(warehouse.maxPer.get('A')).toBe(2);
  });

  it('runs a self-reading processor one partition at a time in date order', async () => {
    const s = processor('S', ['S']);
    const warehouse = new MemoryWarehouse(async (job) => {
      await tick();
      return ok(job);
    });
    await runPlan(options(pipelineOf([s]), planOf([s], 5), warehouse));
    expect(warehouse.jobs.map((j) => [j.batch.start, j.batch.end])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
      [5, 5],
    ]);
    expect(warehouse.maxInFlight).toBe(1);
  });

  it('isolates a failure: siblings build, descendants are UPSTREAM_FAILED, nothing downstream runs', async () => {
    const a = processor('A');
    const bad = processor('BAD', ['A']);
    const sibling = processor('SIB', ['A']);
    const child = processor('CHILD', ['BAD']);
    const grandchild = processor('GRAND', ['CHILD', 'SIB']);
    const all = [a, bad, sibling, child, grandchild];
    const warehouse = new MemoryWarehouse(async (job) =>
      job.processor.name === 'BAD' ? fail({ category: 'PROCESSOR_ERROR', message: 'syntax error' }) : ok(job),
    );
    const result = await runPlan(options(pipelineOf(all), planOf(all, 3), warehouse));
    const by = new Map(result.processors.map((p) => [p.name, p]));
    expect(by.get('SIB')?.built).toEqual([1, 2, 3]);
    expect(by.get('BAD')?.failed.map((f) => f.category)).toEqual(['PROCESSOR_ERROR', 'PROCESSOR_ERROR', 'PROCESSOR_ERROR']);
    expect(by.get('CHILD')?.upstreamFailed).toEqual([1, 2, 3]);
    expect(by.get('GRAND')?.upstreamFailed).toEqual([1, 2, 3]);
    expect(warehouse.jobs.some((j) => j.processor.name === 'CHILD' || j.processor.name === 'GRAND')).toBe(false);
    expect(result.outcome).toBe('failed');
    const grandFailure = warehouse.failures.find((f) => f.processor === 'GRAND');
    expect(grandFailure?.category).toBe('UPSTREAM_FAILED');
    expect(grandFailure?.message).toMatch(/reads CHILD .* which reads BAD .* which failed \(PROCESSOR_ERROR\)/);
  });

  it('splits a failed batch in halves, so one bad day does not sink the batch', async () => {
    const a = processor('A');
    const b = processor('B', ['A']);
    const warehouse = new MemoryWarehouse(async (job) =>
      job.processor.name === 'A' && job.batch.days.includes(2) ? fail({ category: 'PROCESSOR_ERROR', message: 'bad day 2' }) : ok(job),
    );
    const result = await runPlan(options(pipelineOf([a, b]), planOf([a, b], 3), warehouse));
    const by = new Map(result.processors.map((p) => [p.name, p]));
    expect(by.get('A')?.built).toEqual([1, 3]);
    expect(by.get('A')?.failed.map((f) => f.day)).toEqual([2]);
    // A 1..3 fails; its halves 1..2 (fails like it) and 3 (builds); then 1..2's halves 1 (builds) and 2.
    expect(warehouse.jobs.filter((j) => j.processor.name === 'A').map((j) => j.batch.days)).toEqual([[1, 2, 3], [1, 2], [3], [1], [2]]);
    // B's batch 1..3 shrinks to the days whose input exists: 1 and 3, as two contiguous batches.
    expect(by.get('B')?.built).toEqual([1, 3]);
    expect(by.get('B')?.upstreamFailed).toEqual([2]);
    expect(warehouse.jobs.filter((j) => j.processor.name === 'B').map((j) => j.batch.days)).toEqual([[1], [3]]);
    // Day 2 failed three times (in 1..3, in 1..2, alone); the ledger has every attempt.
    expect(warehouse.failures.filter((f) => f.processor === 'A' && f.day === 2).map((f) => f.attempt)).toEqual([1, 2, 3]);
  });

  it('stamps a failure before the split half that rebuilds it, even when the wall clock stands still', async () => {
    const a = processor('A');
    // The wall clock moves only while a failing job runs, then stands still: the failure of 1..3 and
    // the start of its half 1..2 fall in the same millisecond.
    let now = 1_000;
    const warehouse = new MemoryWarehouse(async (job) => {
      if (!job.batch.days.includes(3)) return ok(job);
      now += 1_000;
      return fail({ category: 'PROCESSOR_ERROR', message: 'bad day 3' });
    });
    await runPlan(options(pipelineOf([a]), planOf([a], 3), warehouse, { clock: createBuildClock({ now: () => now }) }));
    expect(warehouse.jobs.map((j) => j.batch.days)).toEqual([[1, 2, 3], [1, 2], [3]]);
    const [, half] = warehouse.jobs;
    // History counts days 1 and 2 as rebuilt in-run only when their build is strictly after their failure.
    for (const day of [1, 2]) expect(half!.builtAt).toBeGreaterThan(warehouse.failures.findLast((f) => f.day === day)!.at);
  });

  it('starts a downstream batch while other days of its upstream are still being split and retried', async () => {
    const a = processor('A');
    const b = processor('B', ['A'], { batchSize: 1 });
    const warehouse = new MemoryWarehouse(async (job) => {
      if (job.processor.name !== 'A' || !job.batch.days.includes(2)) return ok(job);
      if (job.batch.days.length === 1) await new Promise((resolve) => setTimeout(resolve, 300));
      return fail({ category: 'PROCESSOR_ERROR', message: 'bad day 2' });
    });
    // Both tables exist already, so no first-batch-creates-the-table rule is in play.
    const tables = new Map(['A', 'B'].map((name) => [name, { exists: true, partitions: new Map() }]));
    await runPlan(options(pipelineOf([a, b]), planOf([a, b], 3), warehouse, { snapshot: { ...emptySnapshot, tables } }));
    // A 1..3 failed as a batch, then its halves; A 1 built alone, so B 1 may start while A 2 still runs.
    expect(warehouse.log.indexOf('start B:1-1')).toBeGreaterThan(warehouse.log.indexOf('end A:1-1'));
    expect(warehouse.log.indexOf('start B:1-1')).toBeLessThan(warehouse.log.indexOf('end A:2-2'));
  });

  it('retries transient failures with backoff up to `retries`, and never PROCESSOR_ERROR', async () => {
    const flaky = processor('FLAKY', [], { retries: 2, batchSize: 1 });
    const broken = processor('BROKEN', [], { retries: 5, batchSize: 1 });
    const warehouse = new MemoryWarehouse(async (job, _signal, attempt) => {
      if (job.processor.name === 'FLAKY' && attempt <= 2) return fail({ category: 'TRANSIENT', message: 'lock conflict' });
      if (job.processor.name === 'BROKEN') return fail({ category: 'PROCESSOR_ERROR', message: 'no such column' });
      return ok(job);
    });
    const opts = options(pipelineOf([flaky, broken]), planOf([flaky, broken], 1), warehouse);
    const result = await runPlan(opts);
    expect(result.processors[0]?.built).toEqual([1]);
    expect(warehouse.jobs.filter((j) => j.processor.name === 'FLAKY')).toHaveLength(3);
    expect(warehouse.jobs.filter((j) => j.processor.name === 'BROKEN')).toHaveLength(1);
    expect(opts.events.filter((e) => e.kind === 'task' && e.status.status === 'queued' && e.status.retry)).toHaveLength(2);
  });

  it('gives up on a transient failure after `retries` and records every attempt', async () => {
    const p = processor('P', [], { retries: 1, batchSize: 1 });
    const warehouse = new MemoryWarehouse(async () => fail({ category: 'TRANSIENT', message: 'network' }));
    const result = await runPlan(options(pipelineOf([p]), planOf([p], 1), warehouse));
    expect(result.processors[0]?.failed).toEqual([{ day: 1, category: 'TRANSIENT', message: 'network' }]);
    expect(warehouse.failures.map((f) => f.attempt)).toEqual([1, 2]);
  });

  it('only batches that read a source whose versions are still being recorded wait for them (waiting-inputs)', async () => {
    const src = processor('SRC');
    const reader = processor('READER', ['SRC'], { batchSize: 1 });
    const other = processor('OTHER', [], { batchSize: 1 });
    let finishRecording = () => {};
    const warehouse = new MemoryWarehouse();
    warehouse.recordSourceVersions = () =>
      new Promise((resolve) => (finishRecording = () => resolve({ versions: new Map([['SRC', new Map([[1, 'v1']])]]), failed: new Map() })));
    const snapshot: Snapshot = {
      ...emptySnapshot,
      pendingVersions: new Set(['SRC']),
      ledger: new Map([['SRC', new Map([[1, { runId: 'old', builtAt: 1, rows: 1, codeFingerprint: 'c' }]])]]),
    };
    const plan = planOf([reader, other], 1);
    const opts = options(pipelineOf([src, reader, other]), plan, warehouse, { snapshot });
    const running = runPlan(opts);
    await tick();
    // OTHER committed; READER's rows are staged but not committed before the versions are recorded.
    expect(warehouse.log).toContain('commit OTHER:1-1');
    expect(warehouse.log).toContain('end READER:1-1');
    expect(warehouse.log).not.toContain('commit READER:1-1');
    finishRecording();
    const result = await running;
    expect(result.outcome).toBe('success');
    expect(warehouse.committed.get('READER')).toEqual(new Map([[1, 'READER:1']]));
    const statuses = (name: string) => opts.events.flatMap((e) => (e.kind === 'task' && e.task.processor.name === name ? [e.status.status] : []));
    expect(statuses('READER')).toEqual(['pending', 'queued', 'running', 'waiting-inputs', 'committing', 'built']);
    expect(statuses('OTHER')).toEqual(['pending', 'queued', 'running', 'committing', 'built']);
  });

  it('a failure recording pending versions that no batch waits for is a warning, not a crash', async () => {
    const other = processor('OTHER', [], { batchSize: 1 });
    // The recording fails at once, while the batches take a while.
    const warehouse = new MemoryWarehouse(async (job) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return ok(job);
    });
    warehouse.recordSourceVersions = async () => {
      throw new Error('IO Error: disk full');
    };
    const snapshot: Snapshot = { ...emptySnapshot, pendingVersions: new Set(['SRC']) };
    const opts = options(pipelineOf([other]), planOf([other], 2), warehouse, { snapshot });
    const result = await runPlan(opts);
    expect(result.outcome).toBe('success');
    expect(opts.events).toContainEqual({ kind: 'warning', message: 'could not record source versions: IO Error: disk full' });
  });

  it('stamps builtAt strictly after every input and after the run start', async () => {
    const a = processor('A', [], { batchSize: 1 });
    const b = processor('B', ['A'], { batchSize: 1 });
    const warehouse = new MemoryWarehouse();
    const snapshot: Snapshot = {
      ...emptySnapshot,
      // A ledger entry from the future (clock skew) must still be older than what reads it.
      ledger: new Map([['A', new Map([[9, { runId: 'old', builtAt: 5_000_000, rows: 1, codeFingerprint: 'x', inputFingerprint: 'y' }]])]]),
    };
    const plan = planOf([a, b], 2);
    const extra = { ...plan.processors[1]!, batches: [{ start: 9, end: 9, days: [9] }] };
    const result = await runPlan({ ...options(pipelineOf([a, b]), { ...plan, processors: [plan.processors[0]!, extra] }, warehouse), snapshot });
    expect(result.totals.built).toBe(3);
    const at = (name: string, day: Day) => warehouse.jobs.find((j) => j.processor.name === name && j.batch.days.includes(day))?.builtAt ?? 0;
    expect(at('B', 9)).toBeGreaterThan(5_000_000);
    expect(warehouse.runs[0]?.startedAt).toBeLessThan(at('A', 1));
    const stamps = warehouse.jobs.map((j) => j.builtAt);
    expect(new Set(stamps).size).toBe(stamps.length);
  });

  it('a failed day of a self-reading processor makes its later days UPSTREAM_FAILED, and they never run', async () => {
    const s = processor('S', ['S']);
    const warehouse = new MemoryWarehouse(async (job) => (job.batch.start === 2 ? fail({ category: 'PROCESSOR_ERROR', message: 'bad day 2' }) : ok(job)));
    const result = await runPlan(options(pipelineOf([s]), planOf([s], 5), warehouse));
    expect(result.processors[0]?.built).toEqual([1]);
    expect(result.processors[0]?.failed.map((f) => f.day)).toEqual([2]);
    expect(result.processors[0]?.upstreamFailed).toEqual([3, 4, 5]);
    expect(warehouse.jobs.map((j) => j.batch.start)).toEqual([1, 2]);
    expect(warehouse.failures.filter((f) => f.category === 'UPSTREAM_FAILED').map((f) => f.day)).toEqual([3, 4, 5]);
  });

  it("records the run's end in _dag.runs even when recording source versions fails", async () => {
    const a = processor('A');
    const warehouse = new MemoryWarehouse();
    warehouse.recordSourceVersions = async () => {
      throw new Error('IO Error: disk full');
    };
    await expect(runPlan(options(pipelineOf([a]), planOf([a], 1), warehouse))).rejects.toThrow(/disk full/);
    expect(warehouse.runs.at(-1)).toMatchObject({ runId: 'r1', outcome: 'failed', endedAt: expect.any(Number) });
  });

  it('cancels: running jobs are interrupted, the rest never start, the run says cancelled', async () => {
    const a = processor('A', [], { batchSize: 1, concurrency: 1 });
    const controller = new AbortController();
    const warehouse = new MemoryWarehouse(
      (_job, signal) =>
        new Promise((resolve) => {
          controller.abort();
          // The run's abort reaches the job's signal synchronously.
          if (signal.aborted) resolve(fail({ category: 'CANCELLED', message: 'interrupted' }));
        }),
    );
    const result = await runPlan(options(pipelineOf([a]), planOf([a], 3), warehouse, { signal: controller.signal, concurrency: 1 }));
    expect(result.outcome).toBe('cancelled');
    expect(warehouse.jobs).toHaveLength(1);
    expect(result.processors[0]?.failed).toEqual([{ day: 1, category: 'CANCELLED', message: 'interrupted: the run was cancelled' }]);
    expect(result.processors[0]?.cancelled).toEqual([2, 3]);
    // Only the interrupted attempt is a failure in the ledger; what never started is not.
    expect(warehouse.failures.map((f) => [f.day, f.category])).toEqual([[1, 'CANCELLED']]);
    expect(warehouse.runs.at(-1)?.outcome).toBe('cancelled');
  });
});
