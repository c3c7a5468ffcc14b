/**
 * The scheduler on an in-memory warehouse (the port, not DuckDB): partition-level readiness,
 * concurrency caps, failure isolation, per-partition retry, transient retries, timeouts, builtAt.
 * The same behaviours run against a real DuckDB file through the CLI in test/run*.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Day } from '../src/core/dates.js';
import type { Pipeline, Processor, Upstream } from '../src/core/model.js';
import type { Plan, ProcessorPlan } from '../src/core/plan.js';
import type { RecordedVersions, Snapshot } from '../src/core/snapshot.js';
import type { BatchJob, BatchOutcome, FailureRecord, JobFailure, RunRecord, Warehouse } from '../src/warehouse/port.js';
import { createBuildClock, runPlan, type RunEvent, type RunnerOptions } from '../src/runner/index.js';

function processor(name: string, upstream: string[] = [], extra: Partial<Processor> = {}): Processor {
  return {
    kind: 'processor',
    name,
    table: { schema: 'p', name: name.toLowerCase() },
    partitionColumn: 'date',
    description: undefined,
    upstream: upstream.map((u): Upstream => ({ name: u, mapping: u === name ? { kind: 'offset', offset: -1, unit: 'partitions' } : { kind: 'same' } })),
    action: { kind: 'sql', file: `/x/${name}.sql`, text: 'select 1' },
    codeFiles: [],
    start: undefined,
    retentionDays: undefined,
    batchSize: 3,
    timeoutMs: 60_000,
    retries: 2,
    concurrency: 4,
    allowEmpty: false,
    notify: undefined,
    ...extra,
  };
}

function pipelineOf(processors: Processor[]): Pipeline {
  return {
    name: 't',
    file: '/x/pipeline.yaml',
    targets: new Map(),
    defaultTarget: 'dev',
    calendar: undefined,
    sources: [],
    processors,
    nodes: new Map(processors.map((p) => [p.name, p])),
    notify: undefined,
  };
}

/** Every day of 1..days built, in batches of `size` (one per day for self-readers). */
function planOf(processors: Processor[], days: number): Plan {
  const all = Array.from({ length: days }, (_, i) => i + 1);
  const plans: ProcessorPlan[] = processors.map((p) => {
    const batches = [];
    const size = p.upstream.some((u) => u.name === p.name) ? 1 : p.batchSize;
    for (let i = 0; i < all.length; i += size) {
      const batchDays = all.slice(i, i + size);
      batches.push({ start: batchDays[0] as Day, end: batchDays[batchDays.length - 1] as Day, days: batchDays });
    }
    return {
      name: p.name,
      table: `p.${p.name}`,
      counts: { expected: days, fresh: 0, missing: days, stale: 0, build: days, blocked: 0 },
      expected: all,
      partitions: all.map((day) => ({ day, status: 'missing', action: 'build' })),
      batches,
      codeFingerprint: `code-${p.name}`,
    };
  });
  return {
    pipeline: 't',
    target: 'dev',
    range: { start: 1, end: days },
    processors: plans,
    summary: { expected: 0, fresh: 0, missing: 0, stale: 0, build: 0, blocked: 0, batches: 0 },
    stats: { queries: 0, elapsedMs: 0 },
  };
}

const emptySnapshot: Snapshot = { calendar: undefined, tables: new Map(), ledger: new Map(), failures: new Map(), stats: { queries: 0 } };

type Behaviour = (job: BatchJob, signal: AbortSignal, attempt: number) => Promise<BatchOutcome>;

/** A Warehouse whose batches do what `behaviour` says and that remembers every call. */
class MemoryWarehouse implements Warehouse {
  readonly targetName = 'dev';
  readonly jobs: BatchJob[] = [];
  readonly failures: FailureRecord[] = [];
  readonly runs: RunRecord[] = [];
  readonly log: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  readonly inFlightPer = new Map<string, number>();
  maxPer = new Map<string, number>();
  private readonly attempts = new Map<string, number>();
  constructor(private readonly behaviour: Behaviour = async (job) => ok(job)) {}
  async readSnapshot(): Promise<Snapshot> {
    return emptySnapshot;
  }
  async runSqlBatch(job: BatchJob, signal: AbortSignal): Promise<BatchOutcome> {
    const key = `${job.processor.name}:${job.batch.start}-${job.batch.end}`;
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempt);
    this.jobs.push(job);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const per = (this.inFlightPer.get(job.processor.name) ?? 0) + 1;
    this.inFlightPer.set(job.processor.name, per);
    this.maxPer.set(job.processor.name, Math.max(this.maxPer.get(job.processor.name) ?? 0, per));
    this.log.push(`start ${key}`);
    try {
      return await this.behaviour(job, signal, attempt);
    } finally {
      this.log.push(`end ${key}`);
      this.inFlight -= 1;
      this.inFlightPer.set(job.processor.name, (this.inFlightPer.get(job.processor.name) ?? 1) - 1);
    }
  }
  async runCommandBatch(): Promise<BatchOutcome> {
    throw new Error('no commands here');
  }
  async recordSourceVersions(): Promise<RecordedVersions> {
    return { versions: new Map(), failed: new Map() };
  }
  async recordRun(run: RunRecord): Promise<void> {
    this.runs.push(run);
  }
  async recordFailure(failure: FailureRecord): Promise<void> {
    this.failures.push(failure);
  }
  async acquireLock() {
    return { ok: true } as const;
  }
  async releaseLock(): Promise<void> {}
  async estimateBytes(): Promise<undefined> {
    return undefined;
  }
  async close(): Promise<void> {}
}

function ok(job: BatchJob): BatchOutcome {
  return { ok: true, rows: new Map(job.batch.days.map((d) => [d, 1])), absent: [] };
}
const fail = (failure: JobFailure): BatchOutcome => ({ ok: false, failure });
const tick = () => new Promise((r) => setTimeout(r, 5));

function options(pipeline: Pipeline, plan: Plan, warehouse: Warehouse, extra: Partial<RunnerOptions> = {}): RunnerOptions & { events: RunEvent[] } {
  const events: RunEvent[] = [];
  let now = 1_000;
  return {
    pipeline,
    plan,
    snapshot: emptySnapshot,
    warehouse,
    runId: 'r1',
    commandLine: 'run',
    clock: createBuildClock({ now: () => now++ }),
    inputsOf: (p, day) => p.upstream.map((u) => ({ upstream: u.name, days: u.name === p.name ? [day - 1] : [day] })),
    inputFingerprint: (p, day) => `${p.name}:${day}`,
    spawner: () => async () => undefined,
    concurrency: 4,
    onEvent: (event) => events.push(event),
    signal: new AbortController().signal,
    backoffMs: () => 1,
    events,
    ...extra,
  };
}

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
    const warehouse = new MemoryWarehouse(async (job) => (await tick(), ok(job)));
    const result = await runPlan(options(pipelineOf([a, b]), planOf([a, b], 8), warehouse, { concurrency: 3 }));
    expect(result.totals.built).toBe(16);
    expect(warehouse.maxInFlight).toBe(3);
    expect(warehouse.maxPer.get('A')).toBe(2);
  });

  it('runs a self-reading processor one partition at a time in date order', async () => {
    const s = processor('S', ['S']);
    const warehouse = new MemoryWarehouse(async (job) => (await tick(), ok(job)));
    await runPlan(options(pipelineOf([s]), planOf([s], 5), warehouse));
    expect(warehouse.jobs.map((j) => [j.batch.start, j.batch.end])).toEqual([[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]]);
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

  it('retries a failed batch partition by partition, so one bad day does not sink the batch', async () => {
    const a = processor('A');
    const b = processor('B', ['A']);
    const warehouse = new MemoryWarehouse(async (job) =>
      job.processor.name === 'A' && job.batch.days.includes(2) ? fail({ category: 'PROCESSOR_ERROR', message: 'bad day 2' }) : ok(job),
    );
    const result = await runPlan(options(pipelineOf([a, b]), planOf([a, b], 3), warehouse));
    const by = new Map(result.processors.map((p) => [p.name, p]));
    expect(by.get('A')?.built).toEqual([1, 3]);
    expect(by.get('A')?.failed.map((f) => f.day)).toEqual([2]);
    // B's batch 1..3 shrinks to the days whose input exists: 1 and 3, as two contiguous batches.
    expect(by.get('B')?.built).toEqual([1, 3]);
    expect(by.get('B')?.upstreamFailed).toEqual([2]);
    expect(warehouse.jobs.filter((j) => j.processor.name === 'B').map((j) => j.batch.days)).toEqual([[1], [3]]);
    // Day 2 failed twice (as part of the batch, then alone); the ledger has both attempts.
    expect(warehouse.failures.filter((f) => f.processor === 'A' && f.day === 2).map((f) => f.attempt)).toEqual([1, 2]);
  });

  it('starts a downstream batch while its upstream is still retrying other days one by one', async () => {
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
    // A 1..3 failed as a batch; A 1 then built alone, so B 1 may start while A 2 is being retried.
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
    expect(opts.events.filter((e) => e.kind === 'job-retry')).toHaveLength(2);
  });

  it('gives up on a transient failure after `retries` and records every attempt', async () => {
    const p = processor('P', [], { retries: 1, batchSize: 1 });
    const warehouse = new MemoryWarehouse(async () => fail({ category: 'TRANSIENT', message: 'network' }));
    const result = await runPlan(options(pipelineOf([p]), planOf([p], 1), warehouse));
    expect(result.processors[0]?.failed).toEqual([{ day: 1, category: 'TRANSIENT', message: 'network' }]);
    expect(warehouse.failures.map((f) => f.attempt)).toEqual([1, 2]);
  });

  it('aborts a job at its timeout and records TIMEOUT', async () => {
    const slow = processor('SLOW', [], { timeoutMs: 50, batchSize: 1, retries: 0 });
    const warehouse = new MemoryWarehouse(
      (_job, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve(fail({ category: 'CANCELLED', message: 'interrupted' })))),
    );
    const result = await runPlan(options(pipelineOf([slow]), planOf([slow], 1), warehouse));
    expect(result.processors[0]?.failed[0]?.category).toBe('TIMEOUT');
    expect(warehouse.failures[0]?.category).toBe('TIMEOUT');
  });

  it('stops a job\'s timeout clock while it waits and resumes it with what is left, not a fresh timeout', async () => {
    const p = processor('P', [], { timeoutMs: 400, batchSize: 1, retries: 0 });
    const sleep = (ms: number, signal: AbortSignal) => new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      signal.addEventListener('abort', () => (clearTimeout(timer), resolve(true)), { once: true });
    });
    // 250 ms of work, 500 ms waiting (not counted), then 250 ms more: 500 ms of its own > 400 ms.
    const warehouse = new MemoryWarehouse(async (job, signal) => {
      job.onQueued?.();
      job.onStarted?.();
      if (await sleep(250, signal)) return fail({ category: 'CANCELLED', message: 'interrupted' });
      job.onQueued?.();
      await new Promise((resolve) => setTimeout(resolve, 500));
      job.onStarted?.();
      if (await sleep(250, signal)) return fail({ category: 'CANCELLED', message: 'interrupted' });
      return ok(job);
    });
    const result = await runPlan(options(pipelineOf([p]), planOf([p], 1), warehouse));
    expect(result.processors[0]?.failed[0]?.category).toBe('TIMEOUT');
  });

  it('only batches that read a source whose versions are still being recorded wait for them', async () => {
    const src = processor('SRC');
    const reader = processor('READER', ['SRC'], { batchSize: 1 });
    const other = processor('OTHER', [], { batchSize: 1 });
    let finishRecording = () => {};
    const warehouse = new MemoryWarehouse();
    warehouse.recordSourceVersions = () => new Promise((resolve) => (finishRecording = () => resolve({ versions: new Map([['SRC', new Map([[1, 'v1']])]]), failed: new Map() })));
    const snapshot: Snapshot = { ...emptySnapshot, pendingVersions: new Set(['SRC']), ledger: new Map([['SRC', new Map([[1, { runId: 'old', builtAt: 1, rows: 1, codeFingerprint: 'c' }]])]]) };
    const plan = planOf([reader, other], 1);
    const running = runPlan(options(pipelineOf([src, reader, other]), plan, warehouse, { snapshot }));
    await tick();
    const [readerJob] = warehouse.jobs.filter((job) => job.processor.name === 'READER');
    const [otherJob] = warehouse.jobs.filter((job) => job.processor.name === 'OTHER');
    expect(otherJob?.inputFingerprints).toBeInstanceOf(Map);
    expect(readerJob?.inputFingerprints).not.toBeInstanceOf(Map);
    finishRecording();
    const result = await running;
    expect(result.outcome).toBe('success');
    expect(await readerJob?.inputFingerprints).toEqual(new Map([[1, 'READER:1']]));
  });

  it('a failure recording pending versions that no batch waits for is a warning, not a crash', async () => {
    const other = processor('OTHER', [], { batchSize: 1 });
    // The recording fails at once, while the batches take a while.
    const warehouse = new MemoryWarehouse(async (job) => (await new Promise((resolve) => setTimeout(resolve, 50)), ok(job)));
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

  it('records the run\'s end in _dag.runs even when recording source versions fails', async () => {
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
    expect(result.processors[0]?.failed.map((f) => f.category)).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED']);
    expect(warehouse.runs.at(-1)?.outcome).toBe('cancelled');
  });
});
