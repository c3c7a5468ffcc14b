/**
 * The planner's answer: for each selected processor, each expected partition in the range, a status,
 * an action and why. Days are Day numbers here; `planToJson` (src/core/plan-json.ts) gives the
 * DESIGN §6 shape with ISO dates.
 */
import type { Day, DayRange } from './dates.js';

export type Status = 'fresh' | 'missing' | 'stale';
export type Action = 'build' | 'blocked' | 'none';
export type BlockedCategory = 'MISSING_DEPENDENCIES' | 'OUT_OF_RANGE' | 'INSUFFICIENT_HISTORY';
/** Blocked categories in order of precedence: a blocked partition gets the first that applies. */
export const BLOCKED_CATEGORIES: readonly BlockedCategory[] = ['MISSING_DEPENDENCIES', 'OUT_OF_RANGE', 'INSUFFICIENT_HISTORY'];

/** Upstream partitions one partition lacks (blocked) or that changed (stale), grouped by upstream. */
export interface UpstreamDays {
  readonly upstream: string;
  readonly days: readonly Day[];
}

/** Reasons that name upstream partitions. */
export type UpstreamReasonKind = 'upstream_changed' | 'upstream_rebuilt' | 'upstream_stale' | 'upstream_missing' | 'external_older_than_upstream';

/**
 * Why a present partition is stale (DESIGN §3). A stale partition carries every reason that applies,
 * in this order: code_changed, rows_changed, forced, then the upstream reasons (changed or
 * external_older_than_upstream, rebuilt, stale, missing), each upstream in declaration order.
 */
export type StaleReason =
  | { readonly kind: UpstreamReasonKind; readonly upstream: string; readonly days: readonly Day[] }
  | { readonly kind: 'code_changed'; readonly was: string; readonly now: string }
  /** The table holds `now` rows for the partition; the ledger recorded `was` (rows deleted or added behind dag's back). */
  | { readonly kind: 'rows_changed'; readonly was: number; readonly now: number }
  /** `--force`: rebuilt on request. */
  | { readonly kind: 'forced' };

/** A reason that names upstream partitions (as opposed to the partition's own code, rows or --force). */
export function isUpstreamReason(r: StaleReason): r is Extract<StaleReason, { readonly upstream: string }> {
  return 'upstream' in r;
}

export interface PartitionPlan {
  readonly day: Day;
  readonly status: Status;
  readonly action: Action;
  /** Only when blocked: the first of MISSING_DEPENDENCIES, OUT_OF_RANGE, INSUFFICIENT_HISTORY that applies. */
  readonly category?: BlockedCategory;
  /** Only when blocked: every upstream partition it lacks. */
  readonly needs?: readonly UpstreamDays[];
  /** Only when stale: all its reasons. */
  readonly reasons?: readonly StaleReason[];
}

export interface Batch {
  readonly start: Day;
  readonly end: Day;
  /** The calendar partitions of the batch, ascending (with a game-day calendar, not every day in start..end). */
  readonly days: readonly Day[];
}

export interface PartitionCounts {
  readonly expected: number;
  readonly fresh: number;
  readonly missing: number;
  readonly stale: number;
  readonly build: number;
  readonly blocked: number;
}

export interface ProcessorPlan {
  readonly name: string;
  readonly table: string;
  readonly counts: PartitionCounts;
  /** Every expected day in the range, ascending (fresh ones included, for grids). */
  readonly expected: readonly Day[];
  /** Every non-fresh partition, ascending by day. */
  readonly partitions: readonly PartitionPlan[];
  readonly batches: readonly Batch[];
  /** Current code fingerprint: what the ledger will record for partitions built now. */
  readonly codeFingerprint: string;
  /** Facts about the processor's fresh partitions worth saying in text output (e.g. built outside dag). */
  readonly notes?: readonly string[];
}

export interface Plan {
  readonly pipeline: string;
  readonly target: string;
  readonly range: DayRange;
  /** Topological order. */
  readonly processors: readonly ProcessorPlan[];
  readonly summary: PartitionCounts & { readonly batches: number };
  readonly stats: { readonly queries: number; readonly elapsedMs: number };
}
