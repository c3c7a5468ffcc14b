/**
 * What plan, explain and run share before they differ: load the pipeline, resolve the selection and
 * target, open the warehouse, read one snapshot, plan. Split in steps so `run` can take its lock
 * between opening the warehouse and reading the snapshot it will act on.
 */
import { performance } from 'node:perf_hooks';
import { formatPosition, requirePipeline } from '../config/require.js';
import type { DayRange } from '../core/dates.js';
import type { Diagnostic } from '../core/diagnostics.js';
import { tableName, type Pipeline } from '../core/model.js';
import type { Plan } from '../core/plan.js';
import { plan } from '../core/planner.js';
import { readClosure, selectProcessors } from '../core/selection.js';
import type { Snapshot } from '../core/snapshot.js';
import { openWarehouse, resolveTargetName } from '../warehouse/open.js';
import type { Warehouse } from '../warehouse/port.js';
import type { CliIO } from './io.js';
import { ledgerWarnings } from './ledger-warnings.js';

export interface PrepareOptions {
  /** `--pipeline FILE`. */
  readonly pipeline?: string;
  /** `--select SEL`. */
  readonly select?: string;
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

export async function loadPipelineAndTarget(io: CliIO, options: PrepareOptions): Promise<LoadedPipeline> {
  io.doing = 'loading the pipeline';
  const { pipeline, warnings } = await requirePipeline({ cwd: io.cwd, ...(options.pipeline !== undefined ? { file: options.pipeline } : {}) });
  return { pipeline, warnings, targetName: resolveTargetName(pipeline, options.target) };
}

/** `--select` applied to a loaded pipeline; an unknown name is a usage error (exit 2). */
export function withSelection(loaded: LoadedPipeline, select: string | undefined): Loaded {
  const { pipeline, warnings, targetName } = loaded;
  const selection = selectProcessors(pipeline, select);
  return { pipeline, warnings, targetName, selection, readNodes: readClosure(pipeline, selection) };
}

export async function loadAndSelect(io: CliIO, options: PrepareOptions): Promise<Loaded> {
  return withSelection(await loadPipelineAndTarget(io, options), options.select);
}

/** `lockFirst` (run): the adapter may defer opening storage until the run's lock is taken. */
export async function openTarget(io: CliIO, loaded: Loaded, readOnly: boolean, lockFirst = false): Promise<Warehouse> {
  io.doing = `opening target '${loaded.targetName}'`;
  return openWarehouse(loaded.pipeline, loaded.targetName, { env: io.env, readOnly, lockFirst });
}

/** A range, or (explain) a range that depends on the calendar the snapshot read. */
export type RangeFor = DayRange | ((loaded: Loaded, snapshot: Snapshot) => DayRange);

export interface Planned {
  readonly snapshot: Snapshot;
  readonly plan: Plan;
  /** The warnings printed while reading the snapshot (absent sources, ledger identity), for `--json`. */
  readonly warnings: readonly string[];
}

/** Reads the snapshot (the only warehouse queries a plan costs) and plans; elapsed covers both. */
export async function readAndPlan(io: CliIO, loaded: Loaded, warehouse: Warehouse, rangeFor: RangeFor): Promise<Planned> {
  const started = performance.now();
  io.doing = 'reading the warehouse';
  const snapshot = await warehouse.readSnapshot(loaded.pipeline, loaded.readNodes);
  const warnings: string[] = [];
  for (const warning of absentSourceWarnings(loaded, snapshot)) {
    io.stderr(`dag: warning: ${warning}\n`);
    warnings.push(warning);
  }
  const ledgerSchema = loaded.pipeline.targets.get(loaded.targetName)?.ledgerSchema ?? '_dag';
  for (const warning of ledgerWarnings(loaded.pipeline, snapshot, loaded.targetName, ledgerSchema)) {
    io.stderr(`dag: warning: ${warning.message}\n  hint: ${warning.hint}\n`);
    warnings.push(`${warning.message}; ${warning.hint}`);
  }
  io.doing = 'planning';
  const range = typeof rangeFor === 'function' ? rangeFor(loaded, snapshot) : rangeFor;
  const planned = plan({ pipeline: loaded.pipeline, targetName: loaded.targetName, range, selection: loaded.selection, snapshot });
  const elapsedMs = Math.round(performance.now() - started);
  return { snapshot, plan: { ...planned, stats: { ...planned.stats, elapsedMs } }, warnings };
}

/**
 * A source (or the calendar) whose table does not exist is almost always the wrong target or a load
 * that has not happened: without a word, an absent calendar would read as "nothing expected, all fresh".
 */
export function absentSourceWarnings(loaded: Loaded, snapshot: Snapshot): string[] {
  const { pipeline, targetName } = loaded;
  const warnings: string[] = [];
  // readNodes already holds the calendar (readClosure adds it).
  for (const name of loaded.readNodes) {
    const node = pipeline.nodes.get(name);
    if (!node || snapshot.tables.get(name)?.exists !== false) continue;
    const table = tableName(node.table);
    if (name === pipeline.calendar)
      warnings.push(`the calendar '${name}' (table ${table}) does not exist in target '${targetName}', so no partition is expected; load it, or check --target`);
    else if (node.kind === 'source') warnings.push(`source '${name}' (table ${table}) does not exist in target '${targetName}': every partition of it is absent`);
  }
  return warnings;
}

export function printWarnings(io: CliIO, warnings: readonly Diagnostic[]): void {
  for (const w of warnings) io.stderr(`dag: warning: ${formatPosition(w)}: ${w.message}\n`);
}
