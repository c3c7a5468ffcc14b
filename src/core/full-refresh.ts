/**
 * `dag run --full-refresh --select X` (DESIGN §8): which processors a selection refreshes, and whether
 * the range covers every partition their tables hold or are expected to hold — a refresh drops the
 * table, so a partition outside the range would be lost, not rebuilt. Pure: the CLI drops the tables
 * through the Warehouse and then runs as usual.
 */
import type { Calendar } from './calendar.js';
import { formatDay, type Day, type DayRange } from './dates.js';
import { readsItself, tableName, type Pipeline, type Processor } from './model.js';
import { isPresent, type Snapshot } from './snapshot.js';

/**
 * The processors a selection names, without what `+` brings in: `--select PCF+` refreshes PCF, and its
 * readers are rebuilt because what they read was (upstream_rebuilt), not dropped. Names were checked
 * by the selection already.
 */
export function refreshedProcessors(pipeline: Pipeline, selection: string): Processor[] {
  const names = new Set(
    selection
      .split(',')
      .map((term) => term.trim().replace(/^\+/, '').replace(/\+$/, '').trim())
      .filter((name) => name !== ''),
  );
  return pipeline.processors.filter((p) => names.has(p.name));
}

export type RefreshCheck =
  | { readonly ok: true }
  /** `reasons`: one sentence per problem; `range`: the range that would do, when a range would. */
  | { readonly ok: false; readonly reasons: readonly string[]; readonly range: DayRange | undefined };

/** Days the processor's table holds: rows in the inventory, or a ledger entry of an empty partition. */
function presentDays(processor: Processor, snapshot: Snapshot): Day[] {
  const partitions = snapshot.tables.get(processor.name)?.partitions ?? new Map();
  const days = new Set<Day>(partitions.keys());
  for (const [day, entry] of snapshot.ledger.get(processor.name) ?? []) if (isPresent(partitions.get(day), entry)) days.add(day);
  return [...days].sort((a, b) => a - b);
}

/** The first partition the processor is expected to have, and why; undefined when nothing says. */
function firstExpected(processor: Processor, calendar: Calendar, present: readonly Day[]): { day: Day; why: string } | undefined {
  if (!calendar.everyDay) {
    const day = calendar.dayAt(calendar.lowerBound(processor.start ?? calendar.first ?? 0));
    if (day === undefined) return undefined;
    return {
      day,
      why: processor.start === undefined ? "the calendar's first day" : `the calendar's first day on or after its start: ${formatDay(processor.start)}`,
    };
  }
  if (processor.start !== undefined) return { day: processor.start, why: 'its start:' };
  const oldest = present[0];
  return oldest === undefined ? undefined : { day: oldest, why: 'the oldest partition its table holds' };
}

export function checkFullRefresh(pipeline: Pipeline, processors: readonly Processor[], range: DayRange, snapshot: Snapshot, calendar: Calendar): RefreshCheck {
  const reasons: string[] = [];
  let start = range.start;
  let end = range.end;
  let rangeWould = true;
  for (const processor of processors) {
    const table = tableName(processor.table);
    if (processor.name === pipeline.calendar) {
      reasons.push(
        `${processor.name} is the pipeline's calendar: dropping table ${table} would leave no partition expected anywhere; refresh the processors that read it instead`,
      );
      rangeWould = false;
      continue;
    }
    if (readsItself(processor)) {
      reasons.push(
        `${processor.name} reads its own earlier partitions ({{ this }}), so its table must exist before its first batch and dag cannot recreate it: recreate table ${table} yourself with the columns its SELECT yields, then rebuild it with --force`,
      );
      rangeWould = false;
      continue;
    }
    const present = presentDays(processor, snapshot).filter((day) => (processor.start === undefined || day >= processor.start) && calendar.contains(day));
    const first = firstExpected(processor, calendar, present);
    const last = present[present.length - 1];
    const lacks: string[] = [];
    if (first !== undefined && first.day < range.start) {
      lacks.push(`its first expected partition is ${formatDay(first.day)} (${first.why})`);
      start = Math.min(start, first.day);
    }
    if (last !== undefined && last > range.end) {
      lacks.push(`its table holds partitions through ${formatDay(last)}`);
      end = Math.max(end, last);
    }
    if (lacks.length > 0)
      reasons.push(
        `the range ${formatDay(range.start)}..${formatDay(range.end)} does not cover ${processor.name}'s partitions: ${lacks.join(', and ')}; dropping table ${table} would lose partitions this run does not rebuild`,
      );
  }
  if (reasons.length === 0) return { ok: true };
  return { ok: false, reasons, range: rangeWould ? { start, end } : undefined };
}
