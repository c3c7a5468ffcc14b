/**
 * The `dag plan --json` object, exactly DESIGN §6: ISO dates, every non-fresh partition, batches as
 * start/end, snake_case stats. Key order follows the documented example so diffs stay readable.
 */
import { formatDay } from './dates.js';
import type { PartitionPlan, Plan, StaleReason, UpstreamDays } from './plan.js';

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
  readonly stats: { readonly queries: number; readonly elapsed_ms: number };
  /** What `dag plan` warned about on stderr (absent sources, ledger rows under former names...), one string each. */
  readonly warnings?: readonly string[];
}

export function upstreamDaysToJson(u: UpstreamDays): { upstream: string; dates: string[] } {
  return { upstream: u.upstream, dates: u.days.map(formatDay) };
}

export function reasonToJson(r: StaleReason): Record<string, unknown> {
  return r.kind === 'code_changed' ? { kind: r.kind, was: r.was, now: r.now } : { kind: r.kind, upstream: r.upstream, dates: r.days.map(formatDay) };
}

export function partitionToJson(p: PartitionPlan): Record<string, unknown> {
  const out: Record<string, unknown> = { date: formatDay(p.day), status: p.status, action: p.action };
  if (p.category !== undefined) out.category = p.category;
  if (p.needs !== undefined) out.needs = p.needs.map(upstreamDaysToJson);
  if (p.reasons !== undefined) out.reasons = p.reasons.map(reasonToJson);
  return out;
}

/** `warnings`: the CLI's warnings, added as a top-level array when given (empty included). */
export function planToJson(plan: Plan, warnings?: readonly string[]): PlanJson {
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
    stats: { queries: plan.stats.queries, elapsed_ms: plan.stats.elapsedMs },
    ...(warnings !== undefined ? { warnings: [...warnings] } : {}),
  };
}
