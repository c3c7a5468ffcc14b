/**
 * Daily mode's stale-data warnings: a scheduled run exists to pick up today's data, so a source that
 * has not delivered the partitions the plan needs is news worth a line (and a webhook post) before
 * anything is built, and so is a calendar that stops before the range does (nothing would be expected,
 * and the run would look fine). Backfill mode stays quiet: gaps there are reported once, in the summary.
 */
import type { CalendarBehind } from '../core/calendar-coverage.js';
import { formatDay, type Day } from '../core/dates.js';
import type { Pipeline } from '../core/model.js';
import type { Plan } from '../core/plan.js';
import { compactDays } from '../report/ranges.js';

export interface StaleSource {
  readonly source: string;
  /** Source partitions the plan needs that are absent. */
  readonly days: readonly Day[];
  /** Partitions that read them directly and are blocked for it, as `PROCESSOR dates`. */
  readonly blocked: readonly string[];
}

export function staleSources(pipeline: Pipeline, plan: Plan): StaleSource[] {
  const bySource = new Map<string, { days: Set<Day>; blocked: Map<string, Day[]> }>();
  for (const processor of plan.processors) {
    for (const partition of processor.partitions) {
      if (partition.action !== 'blocked') continue;
      for (const need of partition.needs ?? []) {
        if (pipeline.nodes.get(need.upstream)?.kind !== 'source' || need.days.length === 0) continue;
        let entry = bySource.get(need.upstream);
        if (!entry) bySource.set(need.upstream, (entry = { days: new Set(), blocked: new Map() }));
        for (const day of need.days) entry.days.add(day);
        const days = entry.blocked.get(processor.name) ?? [];
        if (days.at(-1) !== partition.day) days.push(partition.day);
        entry.blocked.set(processor.name, days);
      }
    }
  }
  return [...bySource].map(([source, entry]) => ({
    source,
    days: [...entry.days].sort((a, b) => a - b),
    blocked: [...entry.blocked].map(([name, days]) => `${name} ${compactDays(days, { maxRanges: 3 })}`),
  }));
}

export function staleSourceMessage(stale: StaleSource): string {
  return `stale data: source '${stale.source}' has no partition for ${compactDays(stale.days, { maxRanges: 5 })}; blocked until it arrives: ${stale.blocked.join('; ')}`;
}

/**
 * The webhook body (without run id, pipeline, target) for a calendar behind the range. Its missing
 * days cannot be known, so `dates` is empty and `uncovered` says how far the range reaches past it.
 */
export function staleCalendarNotice(behind: CalendarBehind, message: string): Record<string, unknown> {
  return {
    source: behind.calendar,
    calendar: true,
    dates: [],
    uncovered: { start: formatDay(behind.uncovered.start), end: formatDay(behind.uncovered.end) },
    last: behind.last === undefined ? null : formatDay(behind.last),
    message,
  };
}
