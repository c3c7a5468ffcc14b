/**
 * Daily mode's stale-data warnings: a scheduled run exists to pick up today's data, so a source that
 * has not delivered the partitions the plan needs is news worth a line (and a webhook post) before
 * anything is built. Backfill mode stays quiet: gaps there are reported once, in the summary.
 */
import type { Day } from '../core/dates.js';
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
