/**
 * Which upstream partitions a partition reads (DESIGN §2 mappings). Shared by the planner, the
 * reference planner in test/, `explain` and the runner (input fingerprints), so they agree exactly.
 *
 * A mapping names a contiguous run of calendar positions. Some of the partitions it names can never
 * exist: those before the calendar's first partition (they have no date at all), and those dated
 * before an upstream processor's `start`. Both count as absent history (INSUFFICIENT_HISTORY).
 */
import type { Calendar } from './calendar.js';
import type { Day } from './dates.js';
import type { Mapping, PipelineNode, Processor, Upstream } from './model.js';
import type { UpstreamDays } from './plan.js';

export interface InputWindow {
  /** First and last calendar positions read, inclusive; the window is empty when first > last. */
  readonly first: number;
  readonly last: number;
  /**
   * Partitions the mapping names that have no calendar position: before the calendar's first
   * partition, past its last, or (an offset in days) a day that is not a calendar day.
   */
  readonly noPartition: number;
}

const EMPTY_NONE: InputWindow = { first: 0, last: -1, noPartition: 0 };
const EMPTY_ONE: InputWindow = { first: 0, last: -1, noPartition: 1 };

/** The positions `day` (at `position` on the calendar) reads through `mapping`. */
export function inputWindow(mapping: Mapping, position: number, day: Day, calendar: Calendar): InputWindow {
  switch (mapping.kind) {
    case 'same':
      return { first: position, last: position, noPartition: 0 };
    case 'offset': {
      const at = mapping.unit === 'days' ? calendar.position(day + mapping.offset) : position + mapping.offset;
      if (at < 0 || at < calendar.minPosition || at >= calendar.endPosition) return EMPTY_ONE;
      return { first: at, last: at, noPartition: 0 };
    }
    case 'lookback': {
      if (mapping.unit === 'days') {
        // "the calendar's partitions dated d-n days .. d, however many there are": no slots go missing.
        const first = calendar.lowerBound(day - mapping.window);
        const last = calendar.upperBound(mapping.excludeCurrent ? day - 1 : day) - 1;
        return first > last ? EMPTY_NONE : { first, last, noPartition: 0 };
      }
      const from = position - mapping.window;
      const last = mapping.excludeCurrent ? position - 1 : position;
      if (from > last) return EMPTY_NONE;
      const first = Math.max(from, calendar.minPosition);
      return { first, last, noPartition: first - from };
    }
  }
}

/**
 * The dated upstream partitions `day` reads through `upstream`, ascending: calendar days only
 * (partitions before the calendar's first have no date and are left out; see inputWindow).
 * `day` must be a calendar day.
 */
export function inputsOf(upstream: Upstream, day: Day, calendar: Calendar): readonly Day[] {
  const position = calendar.position(day);
  if (position < 0) throw new Error(`inputsOf: ${day} is not a calendar day`);
  const window = inputWindow(upstream.mapping, position, day, calendar);
  const days: Day[] = [];
  for (let p = window.first; p <= window.last; p++) days.push(calendar.dayAt(p) as Day);
  return days;
}

/** Every dated partition `day` of `processor` reads, per upstream in declaration order (runner, fingerprints). */
export function processorInputs(processor: Processor, day: Day, calendar: Calendar): readonly UpstreamDays[] {
  return processor.upstream.map((upstream) => ({ upstream: upstream.name, days: inputsOf(upstream, day, calendar) }));
}

/** Is `day` an expected partition of `node`: a calendar day, and not before a processor's `start`? */
export function isExpected(node: PipelineNode, day: Day, calendar: Calendar): boolean {
  return calendar.contains(day) && !beforeStart(node, day);
}

/** A processor partition dated before its `start` can never exist. */
export function beforeStart(node: PipelineNode, day: Day): boolean {
  return node.kind === 'processor' && node.start !== undefined && day < node.start;
}

/**
 * The `min` a lookback asks of one window (undefined: every partition read is required). Reading
 * itself, a processor's partitions that can never exist are where its series begins, not missing
 * history, so `min` asks no more than the `possible` ones: its first partition must stay buildable.
 */
export function lookbackMin(declaredMin: number | undefined, selfRead: boolean, possible: number): number | undefined {
  return declaredMin !== undefined && selfRead ? Math.min(declaredMin, possible) : declaredMin;
}

/** How far a mapping may reach, for sizing the planner's arrays: [back, forward] in positions or days. */
export function mappingReach(mapping: Mapping): { readonly unit: 'partitions' | 'days'; readonly back: number; readonly forward: number } {
  switch (mapping.kind) {
    case 'same':
      return { unit: 'partitions', back: 0, forward: 0 };
    case 'offset':
      return { unit: mapping.unit, back: Math.max(0, -mapping.offset), forward: Math.max(0, mapping.offset) };
    case 'lookback':
      return { unit: mapping.unit, back: mapping.window, forward: 0 };
  }
}
