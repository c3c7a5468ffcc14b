/**
 * A Warehouse in memory for the runner's lifecycle tests: SQL batches do what a `behaviour` says, each
 * commit is remembered (the "ledger"), and every call is logged. Builders for processors, pipelines and
 * plans, and a fake clock that runs timeouts and grace periods without real waiting.
 */
import type { Day } from '../../src/core/dates.js';
import type { Pipeline, Processor, Upstream } from '../../src/core/model.js';
import type { Plan, ProcessorPlan } from '../../src/core/plan.js';
import type { RecordedVersions, Snapshot } from '../../src/core/snapshot.js';
import { createBuildClock, type Timers } from '../../src/runner/clock.js';
import type { RunEvent, RunnerOptions } from '../../src/runner/types.js';
import {
  done,
  failed,
  type BatchJob,
  type BatchRecord,
  type PartitionFailures,
  type RunDetail,
  type FailureRecord,
  type JobAccess,
  type JobFailure,
  type RowCounts,
  type RunHistory,
  type RunRecord,
  type Step,
  type Warehouse,
} from '../../src/warehouse/port.js';

export function processor(name: string, upstream: string[] = [], extra: Partial<Processor> = {}): Processor {
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
    checks: [],
    notify: undefined,
    ...extra,
  };
}

export function pipelineOf(processors: Processor[]): Pipeline {
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

/** Every day of 1..days built, in batches of `batchSize` (one per day for self-readers). */
export function planOf(processors: Processor[], days: number): Plan {
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

export const emptySnapshot: Snapshot = { calendar: undefined, tables: new Map(), ledger: new Map(), failures: new Map(), stats: { queries: 0 } };

/** What a SQL batch's stage does: its rows per day, or a failure. `attempt` counts calls per batch. */
export type Behaviour = (job: BatchJob, signal: AbortSignal, attempt: number) => Promise<Step<RowCounts>>;

export function ok(job: BatchJob): Step<RowCounts> {
  return done(new Map(job.batch.days.map((d) => [d, 1])));
}
export const fail = (failure: JobFailure): Step<never> => failed(failure);

export class MemoryWarehouse implements Warehouse {
  readonly targetName = 'dev';
  readonly jobs: BatchJob[] = [];
  readonly failures: FailureRecord[] = [];
  readonly batches: BatchRecord[] = [];
  readonly runs: RunRecord[] = [];
  readonly log: string[] = [];
  /** Committed partitions ("the ledger"): processor → day → fingerprint. */
  readonly committed = new Map<string, Map<Day, string>>();
  /** What a commit does (resolves when the commit is done); by default it commits at once. */
  commitDelay: (job: BatchJob, signal: AbortSignal) => Promise<void> = async () => undefined;
  inFlight = 0;
  maxInFlight = 0;
  readonly inFlightPer = new Map<string, number>();
  readonly maxPer = new Map<string, number>();
  private readonly attempts = new Map<string, number>();

  constructor(private readonly behaviour: Behaviour = async (job) => ok(job)) {}

  async readSnapshot(): Promise<Snapshot> {
    return emptySnapshot;
  }

  async access(): Promise<Step<JobAccess>> {
    return done({ release: () => {}, abandon: () => {} });
  }

  async stageSqlBatch(
    job: BatchJob,
    signal: AbortSignal,
  ): Promise<
    Step<{ findings: readonly never[]; commit: (f: ReadonlyMap<Day, string>, s: AbortSignal) => Promise<Step<RowCounts>>; discard: () => Promise<void> }>
  > {
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
    let staged: Step<RowCounts>;
    try {
      staged = await this.behaviour(job, signal, attempt);
    } finally {
      this.log.push(`end ${key}`);
      this.inFlight -= 1;
      this.inFlightPer.set(job.processor.name, (this.inFlightPer.get(job.processor.name) ?? 1) - 1);
    }
    if (!staged.ok) return staged;
    const rows = staged.value;
    return done({
      findings: [],
      commit: async (fingerprints, commitSignal) => {
        this.log.push(`commit ${key}`);
        await this.commitDelay(job, commitSignal);
        let ledger = this.committed.get(job.processor.name);
        if (!ledger) this.committed.set(job.processor.name, (ledger = new Map()));
        for (const day of job.batch.days) ledger.set(day, fingerprints.get(day) ?? '');
        return done(rows);
      },
      discard: async () => void this.log.push(`discard ${key}`),
    });
  }

  async markUnfinished(): Promise<Step<void>> {
    return done(undefined);
  }
  async handOver(): Promise<Step<Record<string, string>>> {
    return done({});
  }
  async takeBack(): Promise<Step<void>> {
    return done(undefined);
  }
  async readPartitions(job: BatchJob): Promise<Step<RowCounts>> {
    return done(new Map(job.batch.days.map((d) => [d, 1])));
  }
  async checkPartitions(): Promise<Step<readonly never[]>> {
    return done([]);
  }
  async recordPartitions(): Promise<Step<void>> {
    return done(undefined);
  }
  async recordSourceVersions(): Promise<RecordedVersions> {
    return { versions: new Map(), failed: new Map() };
  }
  async recordRun(run: RunRecord): Promise<void> {
    this.runs.push(run);
  }
  async recordFailures(failures: readonly FailureRecord[]): Promise<void> {
    this.failures.push(...failures);
  }
  async acquireLock() {
    return { ok: true } as const;
  }
  async recordCommandGroups(): Promise<void> {}
  async releaseLock(): Promise<void> {}
  async dropProcessorTable(): Promise<void> {}
  async recordBatches(batches: readonly BatchRecord[]): Promise<void> {
    this.batches.push(...batches);
  }
  async readRecentRuns(): Promise<RunHistory> {
    return { runs: this.runs, failures: this.failures, failuresTruncated: false, checks: [], checksTruncated: false };
  }
  async readRun(runId: string): Promise<RunDetail | undefined> {
    const run = [...this.runs].reverse().find((r) => r.runId === runId);
    return run ? { run, batches: this.batches.filter((b) => b.runId === runId), checks: [], checksTruncated: false } : undefined;
  }
  async readFailures(): Promise<PartitionFailures> {
    return { failures: [], truncated: false };
  }
  async estimateBytes(): Promise<undefined> {
    return undefined;
  }
  async close(): Promise<void> {}
}

/** Lets pending promise callbacks and setImmediate turns run (the runner wakes its queue on setImmediate). */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A clock the test moves by hand: timers fire in order as `advance` passes their time. */
export class FakeTimers implements Timers {
  private time = 0;
  private readonly due: { at: number; fn: () => void }[] = [];

  readonly now = (): number => this.time;

  after(ms: number, fn: () => void): () => void {
    const entry = { at: this.time + ms, fn };
    this.due.push(entry);
    return () => {
      const at = this.due.indexOf(entry);
      if (at >= 0) this.due.splice(at, 1);
    };
  }

  /** Moves the clock `ms` forward, firing every timer due on the way (and letting the runner react). */
  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    for (;;) {
      await settle();
      const next = this.due.filter((entry) => entry.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.due.splice(this.due.indexOf(next), 1);
      this.time = next.at;
      next.fn();
    }
    this.time = until;
    await settle();
  }

  /** Resolves after `ms` of this clock (for behaviours that take time). */
  sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const cancel = this.after(ms, () => resolve(false));
      signal?.addEventListener(
        'abort',
        () => {
          cancel();
          resolve(true);
        },
        { once: true },
      );
    });
  }
}

/** Runner options on `warehouse` with a stepping build clock; the events it emitted are in `events`. */
export function runnerOptions(
  pipeline: Pipeline,
  plan: Plan,
  warehouse: Warehouse,
  extra: Partial<RunnerOptions> = {},
): RunnerOptions & { events: RunEvent[] } {
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
    commands: async () => undefined,
    concurrency: 4,
    onEvent: (event) => events.push(event),
    signal: new AbortController().signal,
    backoffMs: () => 1,
    events,
    ...extra,
  };
}
