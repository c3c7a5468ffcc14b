/**
 * `dag run --full-refresh --select X`: checked before anything is dropped (core/full-refresh.ts), then
 * X's table and ledger rows are dropped through the Warehouse port; the run that follows reads a new
 * snapshot in which every partition of X is missing, and builds them like any other.
 */
import { makeCalendar } from '../core/calendar.js';
import { formatDay, type DayRange } from '../core/dates.js';
import { UserError } from '../core/diagnostics.js';
import { checkFullRefresh, refreshedProcessors } from '../core/full-refresh.js';
import { tableName } from '../core/model.js';
import type { Warehouse } from '../warehouse/port.js';
import type { CliIO } from './io.js';
import type { Loaded } from './prepare.js';

/** `--select` as typed (repeated options add up), or undefined when absent or blank. */
export function selectionText(select: string | readonly string[] | undefined): string | undefined {
  const text = (typeof select === 'string' ? [select] : (select ?? [])).join(',');
  return text.trim() === '' ? undefined : text;
}

/** Refuses (exit 2) before the lock is even taken when --full-refresh has no --select. */
export function requireRefreshSelection(select: string | readonly string[] | undefined): string {
  const text = selectionText(select);
  if (text === undefined)
    throw new UserError(
      '--full-refresh needs --select: it drops the tables of the processors --select names, and rebuilds them',
      2,
      'name them, e.g. dag run --full-refresh --select PCF --range A..B',
    );
  return text;
}

/** `again(range)`: the command line that would be accepted, for the hint. */
export async function fullRefresh(
  io: CliIO,
  loaded: Loaded,
  warehouse: Warehouse,
  range: DayRange,
  selection: string,
  again: (range: DayRange) => string,
): Promise<void> {
  const processors = refreshedProcessors(loaded.pipeline, selection);
  io.doing = 'reading the warehouse';
  const snapshot = await warehouse.readSnapshot(loaded.pipeline, loaded.readNodes);
  const check = checkFullRefresh(loaded.pipeline, processors, range, snapshot, makeCalendar(snapshot.calendar));
  if (!check.ok) {
    const hint = check.range ? `run ${again(check.range)}` : undefined;
    throw new UserError(`--full-refresh: ${check.reasons.join('; ')}. Nothing was dropped.`, 2, hint);
  }
  for (const processor of processors) {
    io.doing = `dropping table ${tableName(processor.table)} of ${processor.name}`;
    await warehouse.dropProcessorTable(processor);
    io.stderr(
      `dag: --full-refresh: dropped table ${tableName(processor.table)} of ${processor.name} and its ledger rows; its partitions ${formatDay(range.start)}..${formatDay(range.end)} are rebuilt\n`,
    );
  }
}
