/**
 * The `dag plan --json` object, exactly DESIGN §6: ISO dates, every non-fresh partition, batches as
 * start/end, snake_case stats. Key order follows the documented example so diffs stay readable.
 */
import { formatDay } from './dates.js';
import { isUpstreamReason, type PartitionPlan, type Plan, type StaleReason, type UpstreamDays } from './plan.js';
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
  readonly unselected_upstream?: readonly { readonly name: string; readonly read_by: readonly string[]; readonly include: string; readonly counts: UpstreamGapCounts }[];
  /** Every warning the plan printed (the calendar behind the range, an absent source table, ledger rows under former names). */
  readonly warnings?: readonly string[];
  readonly stats: { readonly queries: number; readonly elapsed_ms: number };
}

/** What the CLI knows beside the plan itself; each given key is added to the object. */
export interface PlanJsonExtras {
  readonly unselectedUpstream?: readonly UpstreamGap[];
  readonly warnings?: readonly string[];
}

export function upstreamDaysToJson(u: UpstreamDays): { upstream: string; dates: string[] } {
  return { upstream: u.upstream, dates: u.days.map(formatDay) };
}

export function reasonToJson(r: StaleReason): Record<string, unknown> {
  if (isUpstreamReason(r)) return { kind: r.kind, upstream: r.upstream, dates: r.days.map(formatDay) };
  if (r.kind === 'forced') return { kind: r.kind };
  return { kind: r.kind, was: r.was, now: r.now };
}

export function partitionToJson(p: PartitionPlan): Record<string, unknown> {
  const out: Record<string, unknown> = { date: formatDay(p.day), status: p.status, action: p.action };
  if (p.category !== undefined) out.category = p.category;
  if (p.needs !== undefined) out.needs = p.needs.map(upstreamDaysToJson);
  if (p.reasons !== undefined) out.reasons = p.reasons.map(reasonToJson);
  return out;
}

export function planToJson(plan: Plan, extras: PlanJsonExtras = {}): PlanJson {
  const { expected, fresh, missing, stale, build, blocked, batches } = plan.summary;
  return {
    pipeline: plan.pipeline,
    target: plan.target,
    range: { start: formatDay(plan.range.start), end: formatDay(plan.range.end) },
    processors: plan.processors.map((p) => ({
      name: p.name,
      table: p.table,
      counts: { expected: p.counts.expected, fresh: p.counts.fresh, missing: p.counts.missing, stale: p.counts.stale, build: p.counts.build, blocked: p.counts.blocked },
      partitions: p.partitions.map(partitionToJson),
      batches: p.batches.map((b) => ({ start: formatDay(b.start), end: formatDay(b.end) })),
    })),
    summary: { expected, fresh, missing, stale, build, blocked, batches },
    ...(extras.unselectedUpstream ? { unselected_upstream: extras.unselectedUpstream.map((g) => ({ name: g.name, read_by: g.readBy, include: g.include, counts: g.counts })) } : {}),
    ...(extras.warnings ? { warnings: extras.warnings } : {}),
    stats: { queries: plan.stats.queries, elapsed_ms: plan.stats.elapsedMs },
  };
}
