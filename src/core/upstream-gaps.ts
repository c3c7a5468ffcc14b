/**
 * Selections tell the truth (DESIGN §6): the planner takes unselected processors as they are, so a
 * plan over `--select MLFS` alone would call MLFS fresh while PCF, which it reads, is stale. The CLI
 * therefore also plans the selection's upstream closure (same snapshot, no extra query) and this
 * module says, for each unselected upstream processor, how many of the partitions the selection reads
 * are not fresh, and which `+NAME` would include them. Pure.
 */
import type { Calendar } from './calendar.js';
import { formatDay, type Day, type DayRange } from './dates.js';
import { inputsOf, isExpected } from './inputs.js';
import type { Pipeline } from './model.js';
import type { Plan } from './plan.js';
import { readClosure } from './selection.js';

export interface UpstreamGapCounts {
  /** Its partitions in the range that the selection reads (directly or through other unselected processors). */
  readonly read: number;
  readonly fresh: number;
  readonly missing: number;
  readonly stale: number;
  readonly build: number;
  readonly blocked: number;
}

/** An unselected upstream processor with partitions the selection reads that are not fresh. */
export interface UpstreamGap {
  readonly name: string;
  /** Selected processors that read it with only unselected processors in between, topological order. */
  readonly readBy: readonly string[];
  /** The selection term that would include it: `+` and the first of readBy. */
  readonly include: string;
  readonly counts: UpstreamGapCounts;
}

/** Processors the selection reads, transitively, that it does not select; topological order. */
export function unselectedUpstream(pipeline: Pipeline, selection: readonly string[]): readonly string[] {
  const chosen = new Set(selection);
  return readClosure(pipeline, selection).filter((name) => !chosen.has(name) && pipeline.nodes.get(name)?.kind === 'processor');
}

interface Reads {
  readonly days: Set<Day>;
  readonly readBy: Set<string>;
}

/**
 * Which in-range partitions of each unselected upstream processor the selection reads, and through
 * which selected processors. Walks processors downstream-first, so every reader of a processor has
 * pushed its days before the processor passes them on to its own upstream. Days outside the range
 * are not followed: the planner takes them as they are, whoever reads them.
 */
function readsOfUnselected(pipeline: Pipeline, plan: Plan, selection: readonly string[], calendar: Calendar): Map<string, Reads> {
  const { range } = plan;
  const chosen = new Set(selection);
  const expected = new Map(plan.processors.map((p) => [p.name, p.expected]));
  const reads = new Map<string, Reads>();
  for (let i = pipeline.processors.length - 1; i >= 0; i--) {
    const processor = pipeline.processors[i]!;
    const own = chosen.has(processor.name) ? undefined : reads.get(processor.name);
    const days = own ? own.days : chosen.has(processor.name) ? expected.get(processor.name) : undefined;
    if (!days) continue;
    const readBy = own ? own.readBy : [processor.name];
    for (const upstream of processor.upstream) {
      const node = pipeline.nodes.get(upstream.name);
      if (node?.kind !== 'processor' || chosen.has(upstream.name)) continue;
      let target = reads.get(upstream.name);
      if (!target) reads.set(upstream.name, (target = { days: new Set(), readBy: new Set() }));
      for (const name of readBy) target.readBy.add(name);
      for (const day of days) {
        for (const input of inputsOf(upstream, day, calendar)) {
          if (input >= range.start && input <= range.end && isExpected(node, input, calendar)) target.days.add(input);
        }
      }
    }
  }
  return reads;
}

/**
 * The unselected upstream processors that are not fresh where the selection reads them, in
 * topological order. `closurePlan` judged the selection together with `unselectedUpstream` of it,
 * over the same range and snapshot.
 */
export function upstreamGaps(pipeline: Pipeline, selection: readonly string[], closurePlan: Plan, calendar: Calendar): UpstreamGap[] {
  const reads = readsOfUnselected(pipeline, closurePlan, selection, calendar);
  const order = new Map(pipeline.processors.map((p, i) => [p.name, i]));
  const gaps: UpstreamGap[] = [];
  for (const processor of closurePlan.processors) {
    const read = reads.get(processor.name);
    if (!read) continue;
    const counts = { read: read.days.size, fresh: 0, missing: 0, stale: 0, build: 0, blocked: 0 };
    for (const partition of processor.partitions) {
      if (!read.days.has(partition.day)) continue;
      if (partition.status !== 'fresh') counts[partition.status]++;
      if (partition.action !== 'none') counts[partition.action]++;
    }
    counts.fresh = counts.read - counts.missing - counts.stale;
    if (counts.missing + counts.stale === 0) continue;
    const readBy = [...read.readBy].sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    gaps.push({ name: processor.name, readBy, include: `+${readBy[0]}`, counts });
  }
  return gaps;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** One line for plan text and run's stderr: counts, who reads it, and the selection that includes it. */
export function upstreamGapMessage(gap: UpstreamGap, range: DayRange): string {
  const { stale, missing, blocked } = gap.counts;
  const parts = [stale > 0 ? `${stale} stale` : '', missing > 0 ? `${missing} missing` : ''].filter(Boolean);
  const noun = stale + missing === 1 ? 'partition' : 'partitions';
  const blockedText = blocked > 0 ? ` (${blocked} of them blocked)` : '';
  const readers = gap.readBy.length === 1 ? `${gap.readBy[0]} reads` : `${gap.readBy.join(', ')} read`;
  return (
    `unselected upstream ${gap.name} has ${parts.join(', ')} ${noun}${blockedText} in ${formatDay(range.start)}..${formatDay(range.end)} ` +
    `that ${readers}; --select ${gap.include} includes ${stale + missing === 1 ? 'it' : 'them'}`
  );
}

/** `N unselected upstream processor(s)`, for totals lines. */
export function unselectedCountText(gaps: readonly UpstreamGap[]): string {
  return `${plural(gaps.length, 'unselected upstream processor')} ${gaps.length === 1 ? 'is' : 'are'} not fresh`;
}
