/**
 * The planner (DESIGN §3, §5): a pure function of pipeline, range, selection and warehouse snapshot.
 * Processors are judged in topological order and each one's partitions in date order, so that what a
 * partition reads has been decided before it (including a processor's own earlier partitions).
 * Partitions outside the range, source partitions and unselected processors are taken as they are.
 */
import { makeCalendar, type Calendar } from './calendar.js';
import type { Day, DayRange } from './dates.js';
import { codeFingerprint } from './fingerprint.js';
import { readsItself, tableName, type Pipeline, type Processor } from './model.js';
import type { Batch, Plan, ProcessorPlan } from './plan.js';
import { judgeProcessor } from './planner-judge.js';
import { initialState, makeFrame, retentionCutoff, type Frame, type NodeState } from './planner-state.js';
import type { Snapshot } from './snapshot.js';

export interface PlanInput {
  readonly pipeline: Pipeline;
  readonly targetName: string;
  readonly range: DayRange;
  /** Names of the processors to judge (any order; the plan follows the pipeline's topological order). */
  readonly selection: readonly string[];
  readonly snapshot: Snapshot;
  /** Today in the pipeline's time zone, fixed once per invocation: partitions before today minus a retention are expired. */
  readonly today: Day;
  /** `--force`: every selected present partition in the range is stale (reason `forced`). */
  readonly force?: boolean;
}

/** The plan, and the planner's working memory it was decided from (what `dag explain` reads). */
export interface PlannedWithState {
  readonly plan: Plan;
  readonly calendar: Calendar;
  readonly frame: Frame;
  readonly states: ReadonlyMap<string, NodeState>;
}

export function plan(input: PlanInput): Plan {
  return planWithState(input).plan;
}

export function planWithState(input: PlanInput): PlannedWithState {
  const { pipeline, range, snapshot, today } = input;
  const calendar = makeCalendar(snapshot.calendar);
  const chosen = new Set(input.selection);
  const selected = pipeline.processors.filter((p) => chosen.has(p.name));
  const frame = makeFrame(selected, range, calendar);

  const states = new Map<string, NodeState>();
  const fingerprints = new Map(selected.map((p) => [p.name, codeFingerprint(p)]));
  const stateOf = (name: string): void => {
    if (states.has(name)) return;
    const node = pipeline.nodes.get(name);
    if (!node) throw new Error(`planner: unknown node ${name}`);
    states.set(name, initialState(node, snapshot, frame, calendar, today, fingerprints.get(name)));
  };
  for (const processor of selected) {
    stateOf(processor.name);
    for (const upstream of processor.upstream) stateOf(upstream.name);
  }

  // Processors with the same first day share one expected-days array (200 processors x 3,650 days).
  const expectedCache = new Map<Day, readonly Day[]>();
  const processors: ProcessorPlan[] = [];
  const summary = { expected: 0, fresh: 0, missing: 0, stale: 0, build: 0, blocked: 0, batches: 0 };
  for (const processor of selected) {
    const fingerprint = fingerprints.get(processor.name) as string;
    const firstDay = firstExpectedDay(processor, range.start, snapshot, today);
    const firstPosition = calendar.lowerBound(firstDay);
    const judged = judgeProcessor(processor, fingerprint, firstPosition, { calendar, frame, snapshot, states, force: input.force === true });
    const batches = makeBatches(judged.buildPositions, readsItself(processor) ? 1 : processor.batchSize, calendar);
    let expected = expectedCache.get(firstDay);
    if (!expected) {
      expected = calendar.daysIn({ start: firstDay, end: range.end });
      expectedCache.set(firstDay, expected);
    }
    const notes =
      judged.externalFresh > 0
        ? [
            `${judged.externalFresh} present partition(s) have no ledger entry (built outside dag) and are taken as fresh: nothing they read is known to be newer`,
          ]
        : undefined;
    processors.push({
      name: processor.name,
      table: tableName(processor.table),
      counts: judged.counts,
      expected,
      partitions: judged.partitions,
      batches,
      codeFingerprint: fingerprint,
      ...(notes ? { notes } : {}),
    });
    for (const key of ['expected', 'fresh', 'missing', 'stale', 'build', 'blocked'] as const) summary[key] += judged.counts[key];
    summary.batches += batches.length;
  }
  const planned: Plan = {
    pipeline: pipeline.name,
    target: input.targetName,
    range,
    processors,
    summary,
    stats: { queries: snapshot.stats.queries, elapsedMs: 0 },
  };
  return { plan: planned, calendar, frame, states };
}

/**
 * A processor's first expected day from `from`: not before its `start`, nor before its retention's
 * cutoff (older partitions are expired by design, not missing).
 */
export function firstExpectedDay(processor: Processor, from: Day, snapshot: Snapshot, today: Day): Day {
  return Math.max(from, processor.start ?? from, retentionCutoff(processor, snapshot, today) ?? from);
}

/** Contiguous (on the calendar) build partitions, cut into batches of at most `size` partitions. */
export function makeBatches(positions: readonly number[], size: number, calendar: Calendar): Batch[] {
  const batches: Batch[] = [];
  let days: Day[] = [];
  let previous = Number.NaN;
  const flush = (): void => {
    if (days.length > 0) batches.push({ start: days[0] as Day, end: days[days.length - 1] as Day, days });
    days = [];
  };
  for (const p of positions) {
    if (p !== previous + 1 || days.length >= Math.max(1, size)) flush();
    days.push(calendar.dayAt(p) as Day);
    previous = p;
  }
  flush();
  return batches;
}
