/**
 * The `dag plan --json` object, exactly DESIGN §6: ISO dates, every non-fresh partition, batches as
 * start/end, snake_case stats. Key order follows the documented example so diffs stay readable.
 */
import { formatDay, type Day } from './dates.js';
import { isUpstreamReason, type Batch, type PartitionPlan, type Plan, type ProcessorPlan, type StaleReason, type UpstreamDays } from './plan.js';
import type { UpstreamGap, UpstreamGapCounts } from './upstream-gaps.js';

export interface PlanJson {
  readonly pipeline: string;
  readonly target: string;
  readonly range: { readonly start: string; readonly end: string };
  readonly processors: readonly {
    readonly name: string;
    readonly table: string;
    readonly counts: Record<'expected' | 'fresh' | 'missing' | 'stale' | 'build' | 'blocked', number>;
    readonly partitions: readonly Record<string, unknown>[];
    readonly batches: readonly { readonly start: string; readonly end: string }[];
  }[];
  readonly summary: Record<'expected' | 'fresh' | 'missing' | 'stale' | 'build' | 'blocked' | 'batches', number>;
  /** Unselected upstream processors that are not fresh where the selection reads them (docs/partition-states.md). */
  readonly unselected_upstream?: readonly {
    readonly name: string;
    readonly read_by: readonly string[];
    readonly include: string;
    readonly counts: UpstreamGapCounts;
  }[];
  /** Every warning the plan printed (the calendar behind the range, an absent source table, ledger rows under former names). */
  readonly warnings?: readonly string[];
  /** Non-fresh partitions whose last build failed a data check (docs/checks.md); only when there are some. */
  readonly check_failures?: readonly { readonly processor: string; readonly date: string; readonly message: string }[];
  readonly stats: { readonly queries: number; readonly elapsed_ms: number };
}

/** What the CLI knows beside the plan itself; each given key is added to the object. */
export interface PlanJsonExtras {
  readonly unselectedUpstream?: readonly UpstreamGap[];
  readonly warnings?: readonly string[];
  readonly checkFailures?: readonly { readonly processor: string; readonly date: string; readonly message: string }[];
}

/** Lists of more than this many upstream partitions are given as `ranges` (docs/partition-states.md). */
export const MAX_LISTED_DATES = 3;

/** Dates, or `[first, last]` pairs of consecutive dates when the list is long (a lookback of 365 is one pair). */
export type UpstreamDatesJson = { readonly dates: string[] } | { readonly ranges: [string, string][] };

/** Formatting a date allocates a Date; a plan names the same few thousand days millions of times. */
const isoCache = new Map<Day, string>();
export function isoDay(day: Day): string {
  let text = isoCache.get(day);
  if (text === undefined) {
    if (isoCache.size > 100_000) isoCache.clear();
    isoCache.set(day, (text = formatDay(day)));
  }
  return text;
}

/** `dates` for a short list, else runs of consecutive days as inclusive `[first, last]` pairs. Days ascending. */
export function upstreamDatesToJson(days: readonly Day[]): UpstreamDatesJson {
  if (days.length <= MAX_LISTED_DATES) return { dates: days.map(isoDay) };
  const ranges: [string, string][] = [];
  let first = days[0] as Day;
  let last = first;
  for (let i = 1; i <= days.length; i++) {
    const day = days[i];
    if (day === last + 1) {
      last = day;
      continue;
    }
    ranges.push([isoDay(first), isoDay(last)]);
    if (day !== undefined) first = last = day;
  }
  return { ranges };
}

export function upstreamDaysToJson(u: UpstreamDays): { upstream: string } & UpstreamDatesJson {
  return { upstream: u.upstream, ...upstreamDatesToJson(u.days) };
}

export function reasonToJson(r: StaleReason): Record<string, unknown> {
  if (isUpstreamReason(r)) return { kind: r.kind, upstream: r.upstream, ...upstreamDatesToJson(r.days) };
  if (r.kind === 'forced') return { kind: r.kind };
  return { kind: r.kind, was: r.was, now: r.now };
}

export function partitionToJson(p: PartitionPlan): Record<string, unknown> {
  const out: Record<string, unknown> = { date: isoDay(p.day), status: p.status, action: p.action };
  if (p.category !== undefined) out.category = p.category;
  if (p.needs !== undefined) out.needs = p.needs.map(upstreamDaysToJson);
  if (p.reasons !== undefined) out.reasons = p.reasons.map(reasonToJson);
  return out;
}

/** The members before `processors`, in the documented order. */
export function planHeadToJson(plan: Plan): Pick<PlanJson, 'pipeline' | 'target' | 'range'> {
  return { pipeline: plan.pipeline, target: plan.target, range: { start: isoDay(plan.range.start), end: isoDay(plan.range.end) } };
}

/** The members after `processors`: summary, the extras given, stats. */
export function planTailToJson(
  plan: Plan,
  extras: PlanJsonExtras = {},
): Pick<PlanJson, 'summary' | 'unselected_upstream' | 'warnings' | 'check_failures' | 'stats'> {
  const { expected, fresh, missing, stale, build, blocked, batches } = plan.summary;
  return {
    summary: { expected, fresh, missing, stale, build, blocked, batches },
    ...(extras.unselectedUpstream
      ? { unselected_upstream: extras.unselectedUpstream.map((g) => ({ name: g.name, read_by: g.readBy, include: g.include, counts: g.counts })) }
      : {}),
    ...(extras.warnings ? { warnings: extras.warnings } : {}),
    ...(extras.checkFailures && extras.checkFailures.length > 0 ? { check_failures: extras.checkFailures } : {}),
    stats: { queries: plan.stats.queries, elapsed_ms: plan.stats.elapsedMs },
  };
}

/** A processor's members before its (long) `partitions` and `batches` lists. */
export function processorHeadToJson(p: ProcessorPlan): { name: string; table: string; counts: PlanJson['processors'][number]['counts'] } {
  const { expected, fresh, missing, stale, build, blocked } = p.counts;
  return { name: p.name, table: p.table, counts: { expected, fresh, missing, stale, build, blocked } };
}

export function batchToJson(b: Batch): { start: string; end: string } {
  return { start: isoDay(b.start), end: isoDay(b.end) };
}

/** The whole object at once: for tests and small plans. The CLI streams the same text (plan-json-stream.ts). */
export function planToJson(plan: Plan, extras: PlanJsonExtras = {}): PlanJson {
  return {
    ...planHeadToJson(plan),
    processors: plan.processors.map((p) => ({ ...processorHeadToJson(p), partitions: p.partitions.map(partitionToJson), batches: p.batches.map(batchToJson) })),
    ...planTailToJson(plan, extras),
  };
}
