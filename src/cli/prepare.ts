/**
 * What plan, explain and run share before they differ: load the pipeline, resolve the selection and
 * target, open the warehouse, read one snapshot, plan. Split in steps so `run` can take its lock
 * between opening the warehouse and reading the snapshot it will act on.
 */
import { performance } from 'node:perf_hooks';
import { formatPosition, requirePipeline } from '../config/require.js';
import type { ResolvedTargets } from '../config/resolve-targets.js';
import { makeCalendar } from '../core/calendar.js';
import { calendarBehind, calendarBehindMessage, type CalendarBehind } from '../core/calendar-coverage.js';
import type { DayRange } from '../core/dates.js';
import type { Diagnostic } from '../core/diagnostics.js';
import { tableName, type Pipeline } from '../core/model.js';
import type { Plan } from '../core/plan.js';
import { plan, planWithState, type PlanInput, type PlannedWithState } from '../core/planner.js';
import { processorInputs } from '../core/inputs.js';
import { readClosure, selectProcessors } from '../core/selection.js';
import { assumeUnreadable, readersOf, unbuildable } from '../core/unreadable.js';
import type { Snapshot } from '../core/snapshot.js';
import { unselectedUpstream, upstreamGaps, type UpstreamGap } from '../core/upstream-gaps.js';
import { openWarehouse, prefetchReadOnly, resolveTargetName } from '../warehouse/open.js';
import type { Warehouse } from '../warehouse/port.js';
import type { CliIO } from './io.js';
import { invocationToday } from './today.js';
import { ledgerWarnings } from './ledger-warnings.js';

export interface PrepareOptions {
  /** `--pipeline FILE`. */
  readonly pipeline?: string;
  /** `--select SEL`, once or repeated (they add up). */
  readonly select?: string | readonly string[];
  /** `--target T`. */
  readonly target?: string;
}

export interface Loaded {
  readonly pipeline: Pipeline;
  readonly warnings: readonly Diagnostic[];
  readonly targetName: string;
  /** Selected processors, topological order. */
  readonly selection: readonly string[];
  /** Nodes whose tables the snapshot must read (selection, upstream closure, calendar). */
  readonly readNodes: readonly string[];
}

/** The valid pipeline and the target name, before any selection. */
export type LoadedPipeline = Pick<Loaded, 'pipeline' | 'warnings' | 'targetName'>;

/**
 * `readOnly`: the command opens its target read-only next, so the open starts as soon as the file's
 * targets are known and runs beside the rest of loading (prefetchReadOnly: a DuckDB file's catalog
 * loads on DuckDB's thread while the processors' SQL is read and hashed; issue 15).
 */
export async function loadPipelineAndTarget(io: CliIO, options: PrepareOptions, readOnly = false): Promise<LoadedPipeline> {
  io.doing = 'loading the pipeline';
  const { pipeline, warnings } = await requirePipeline({
    cwd: io.cwd,
    ...(options.pipeline !== undefined ? { file: options.pipeline } : {}),
    ...(readOnly
      ? {
          onTargets: async ({ targets, defaultTarget }: ResolvedTargets) => {
            const target = targets.get(options.target ?? defaultTarget);
            if (target) await prefetchReadOnly(target, io.env);
          },
        }
      : {}),
  });
  return { pipeline, warnings, targetName: resolveTargetName(pipeline, options.target) };
}

/** `--select` and `--force`, as plan and run declare them. */
export const SELECT_HELP = 'processors: NAME, +NAME (with upstream), NAME+ (with downstream), comma-separated; repeated --select options add up';
export const FORCE_HELP = 'take every present partition of the selected processors in the range as stale (reason forced), so run rebuilds it';

/** Commander's collector for a repeatable option: `--select A --select B` gives ['A', 'B']. */
export function addUp(value: string, previous: readonly string[]): string[] {
  return [...previous, value];
}

/** `--select` applied to a loaded pipeline; an unknown name is a usage error (exit 2). */
export function withSelection(loaded: LoadedPipeline, select: string | readonly string[] | undefined): Loaded {
  const { pipeline, warnings, targetName } = loaded;
  const selection = selectProcessors(pipeline, select);
  return { pipeline, warnings, targetName, selection, readNodes: readClosure(pipeline, selection) };
}

export async function loadAndSelect(io: CliIO, options: PrepareOptions, readOnly = false): Promise<Loaded> {
  return withSelection(await loadPipelineAndTarget(io, options, readOnly), options.select);
}

/** `lockFirst` (run): the adapter may defer opening storage until the run's lock is taken. */
export async function openTarget(io: CliIO, loaded: Loaded, readOnly: boolean, lockFirst = false): Promise<Warehouse> {
  io.doing = `opening target '${loaded.targetName}'`;
  // Every command exits once its action returns: a read-only warehouse need not free its memory first.
  return openWarehouse(loaded.pipeline, loaded.targetName, { env: io.env, readOnly, lockFirst, processExits: readOnly });
}

/** A range, or (explain) a range that depends on the calendar the snapshot read. */
export type RangeFor = DayRange | ((loaded: Loaded, snapshot: Snapshot) => DayRange);

export interface Planned {
  readonly snapshot: Snapshot;
  readonly plan: Plan;
  /** The planner's state behind the plan (for explain). */
  readonly state: PlannedWithState;
  /** Everything the snapshot warned about, already printed on stderr: for `--json` and `--exit-code`. */
  readonly warnings: readonly string[];
  /** The calendar is behind the range, and the warning that said so: daily mode notifies it. */
  readonly calendarBehind?: { readonly behind: CalendarBehind; readonly message: string };
  /** Unselected upstream processors that are not fresh where the selection reads them. */
  readonly upstreamGaps: readonly UpstreamGap[];
}

export interface PlanFlags {
  /** `--force`: the selection's present partitions in the range are stale (`forced`). */
  readonly force?: boolean;
  /**
   * `dag run`: a table whose inventory query fails is named in a warning and fails only its readers
   * (core/unreadable.ts); otherwise (plan, explain...) it is a WarehouseError, exit 2.
   */
  readonly readersFailUnreadable?: boolean;
}

/** Reads the snapshot (the only warehouse queries a plan costs) and plans; elapsed covers both. */
export async function readAndPlan(io: CliIO, loaded: Loaded, warehouse: Warehouse, rangeFor: RangeFor, flags: PlanFlags = {}): Promise<Planned> {
  const started = performance.now();
  io.doing = 'reading the warehouse';
  const read = await warehouse.readSnapshot(loaded.pipeline, loaded.readNodes, flags.readersFailUnreadable ? { unreadable: 'report' } : {});
  io.doing = 'planning';
  const range = typeof rangeFor === 'function' ? rangeFor(loaded, read) : rangeFor;
  const calendar = makeCalendar(read.calendar);
  const snapshot = assumeUnreadable(loaded.pipeline, read, range, calendar, (processor, day) => processorInputs(processor, day, calendar));
  const calendarWarning = calendarWarningOf(loaded, snapshot, range);
  const warnings = [...(calendarWarning ? [calendarWarning.message] : []), ...absentSourceWarnings(loaded, snapshot), ...unreadableWarnings(loaded, snapshot)];
  for (const warning of warnings) io.stderr(`dag: warning: ${warning}\n`);
  const ledgerSchema = loaded.pipeline.targets.get(loaded.targetName)?.ledgerSchema ?? '_dag';
  for (const warning of ledgerWarnings(loaded.pipeline, snapshot, loaded.targetName, ledgerSchema)) {
    io.stderr(`dag: warning: ${warning.message}\n  hint: ${warning.hint}\n`);
    warnings.push(`${warning.message}; ${warning.hint}`);
  }
  const input: PlanInput = {
    pipeline: loaded.pipeline,
    targetName: loaded.targetName,
    range,
    selection: loaded.selection,
    snapshot,
    today: invocationToday(io, loaded.pipeline.timeZone),
  };
  const state = planWithState(flags.force ? { ...input, force: true } : input);
  const gaps = gapsOfSelection(input);
  const elapsedMs = Math.round(performance.now() - started);
  const planned = { ...state.plan, stats: { ...state.plan.stats, elapsedMs } };
  return {
    snapshot,
    plan: planned,
    state: { ...state, plan: planned },
    warnings,
    upstreamGaps: gaps,
    ...(calendarWarning ? { calendarBehind: calendarWarning } : {}),
  };
}

/** One warning per table the snapshot could not read, naming the selected processors that fail for it. */
function unreadableWarnings(loaded: Loaded, snapshot: Snapshot): string[] {
  const failing = unbuildable(loaded.pipeline, snapshot.unreadable);
  return [...(snapshot.unreadable ?? new Map<string, string>())].map(([name, message]) => {
    const readers = loaded.selection.filter(
      (processor) => failing.has(processor) && (processor === name || readersOf(loaded.pipeline, name).some((r) => r.name === processor)),
    );
    return `${message}; this run fails what reads it (${readers.length > 0 ? readers.join(', ') : 'nothing selected'}) and builds everything that does not depend on it`;
  });
}

/**
 * A second plan over the selection and its unselected upstream processors (the snapshot already holds
 * their tables), unforced: what `--select +NAME` would say of them. Free without a selection.
 */
function gapsOfSelection(input: PlanInput): UpstreamGap[] {
  const unselected = unselectedUpstream(input.pipeline, input.selection);
  if (unselected.length === 0) return [];
  const closurePlan = plan({ ...input, selection: [...input.selection, ...unselected] });
  return upstreamGaps(input.pipeline, input.selection, closurePlan, makeCalendar(input.snapshot.calendar));
}

/**
 * The calendar has no partition in the range or ends before it (DESIGN §6): without a word that reads
 * as "nothing expected, all fresh". An absent calendar table is the same case, worded for the table
 * and the target (almost always the wrong target or a load that has not happened).
 */
function calendarWarningOf(loaded: Loaded, snapshot: Snapshot, range: DayRange): Planned['calendarBehind'] {
  const behind = calendarBehind(loaded.pipeline.calendar, snapshot.calendar, range);
  if (!behind) return undefined;
  const node = loaded.pipeline.nodes.get(behind.calendar);
  const message =
    node && snapshot.tables.get(behind.calendar)?.exists === false
      ? `the calendar '${behind.calendar}' (table ${tableName(node.table)}) does not exist in target '${loaded.targetName}', so no partition is expected; load it, or check --target`
      : calendarBehindMessage(behind);
  return { behind, message };
}

/** A source whose table does not exist is almost always the wrong target or a load that has not happened. */
export function absentSourceWarnings(loaded: Loaded, snapshot: Snapshot): string[] {
  const { pipeline, targetName } = loaded;
  const warnings: string[] = [];
  for (const name of loaded.readNodes) {
    const node = pipeline.nodes.get(name);
    if (node?.kind !== 'source' || name === pipeline.calendar || snapshot.tables.get(name)?.exists !== false) continue;
    warnings.push(`source '${name}' (table ${tableName(node.table)}) does not exist in target '${targetName}': every partition of it is absent`);
  }
  return warnings;
}

export function printWarnings(io: CliIO, warnings: readonly Diagnostic[]): void {
  for (const w of warnings) io.stderr(`dag: warning: ${formatPosition(w)}: ${w.message}\n`);
}
