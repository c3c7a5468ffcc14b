/**
 * A run over a snapshot some of whose tables could not be read (DESIGN §5: "run fails only that
 * table's readers"). Nothing is known of such a table, so every partition of its direct readers in
 * the range is planned as a build — a source's partitions as present but changed since anything was
 * built from them (like a source whose versions are pending), a processor's as absent — and the runner
 * fails those builds at once with the table's error (runner/loop.ts), without a warehouse job. What
 * reads the readers is then UPSTREAM_FAILED, as after any failure; everything else builds.
 */
import type { Calendar } from './calendar.js';
import type { Day, DayRange } from './dates.js';
import type { Pipeline, Processor } from './model.js';
import type { UpstreamDays } from './plan.js';
import type { PartitionInfo, Snapshot, TableInventory } from './snapshot.js';

/** A partition of an unreadable source as the plan assumes it: present, changed since every build. */
const ASSUMED: PartitionInfo = { rows: 1, version: '', changedAt: Infinity };

/**
 * The snapshot a run plans from: `snapshot` with each unreadable source present on every day its
 * readers read in `range`. Unreadable processors stay absent. The same snapshot when nothing is unreadable.
 */
export function assumeUnreadable(
  pipeline: Pipeline,
  snapshot: Snapshot,
  range: DayRange,
  calendar: Calendar,
  inputsOf: (processor: Processor, day: Day) => readonly UpstreamDays[],
): Snapshot {
  const unreadable = snapshot.unreadable;
  if (unreadable === undefined || unreadable.size === 0) return snapshot;
  const tables = new Map<string, TableInventory>(snapshot.tables);
  const columns = new Map(snapshot.columns ?? []);
  for (const name of unreadable.keys()) {
    // The planner would read the columns first; the unreadable table has none worth reading.
    columns.delete(name);
    if (pipeline.nodes.get(name)?.kind !== 'source') continue;
    const days = new Map<Day, PartitionInfo>();
    for (const reader of readersOf(pipeline, name))
      for (let day = range.start; day <= range.end; day++) {
        if (!calendar.contains(day)) continue;
        for (const upstream of inputsOf(reader, day)) if (upstream.upstream === name) for (const read of upstream.days) days.set(read, ASSUMED);
      }
    tables.set(name, { exists: true, partitions: days });
  }
  return { ...snapshot, tables, columns };
}

/** Processors that read `name` directly. */
export function readersOf(pipeline: Pipeline, name: string): Processor[] {
  return pipeline.processors.filter((processor) => processor.upstream.some((upstream) => upstream.name === name));
}

/**
 * Processors that cannot be built in this run, each with why: an unreadable processor table, or an
 * unreadable table it reads directly (the first such upstream names the error).
 */
export function unbuildable(pipeline: Pipeline, unreadable: ReadonlyMap<string, string> | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (unreadable === undefined) return out;
  for (const processor of pipeline.processors) {
    const own = unreadable.get(processor.name);
    if (own !== undefined) {
      out.set(processor.name, own);
      continue;
    }
    const upstream = processor.upstream.find((u) => unreadable.has(u.name));
    if (upstream) out.set(processor.name, `it reads ${upstream.name}: ${unreadable.get(upstream.name)}`);
  }
  return out;
}
