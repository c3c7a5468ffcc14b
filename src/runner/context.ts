/** Shared state of one run: its options, clocks, the live view of the warehouse, and lingering work. */
import type { Day } from '../core/dates.js';
import type { LedgerEntry, PartitionInfo, Snapshot, SourceVersions, TableInventory } from '../core/snapshot.js';
import type { Timers } from './clock.js';
import type { CommandGroups } from './command.js';
import type { RunnerOptions } from './types.js';

export interface RunContext {
  readonly options: RunnerOptions;
  readonly timers: Timers;
  /** How long a cancelled or timed-out job may take to stop before it is abandoned. */
  readonly graceMs: number;
  /** builtAt of the run's start: source versions first seen now are recorded at this time. */
  readonly runStart: number;
  /** The snapshot plus a ledger entry for every partition this run built so far. */
  readonly live: LiveSnapshot;
  /**
   * While versions of sources the snapshot left pending are being computed and recorded: which
   * sources, and a promise that settles when they are in `live`, with the sources that failed.
   */
  sourceVersions: { readonly sources: ReadonlySet<string>; readonly recorded: Promise<ReadonlyMap<string, string>> } | undefined;
  /** Work of abandoned jobs that has not settled yet: the process must not wait for it. */
  readonly lingering: Set<Promise<unknown>>;
  /** Command process groups running now (recorded in the lock). */
  readonly groups: CommandGroups;
}

export interface LiveSnapshot extends Snapshot {
  readonly tables: Map<string, TableInventory>;
  readonly ledger: Map<string, Map<Day, LedgerEntry>>;
}

/** A copy of the snapshot whose ledger the run extends as it builds (the original stays as planned). */
export function liveSnapshot(snapshot: Snapshot): LiveSnapshot {
  const ledger = new Map<string, Map<Day, LedgerEntry>>();
  for (const [name, entries] of snapshot.ledger) ledger.set(name, new Map(entries));
  return { ...snapshot, tables: new Map(snapshot.tables), ledger };
}

/** Puts source versions the snapshot left pending (now recorded at the run's start) into the live view. */
export function applySourceVersions(live: LiveSnapshot, versions: SourceVersions): void {
  for (const [name, byDay] of versions) {
    const inventory = live.tables.get(name);
    if (!inventory) continue;
    const partitions = new Map<Day, PartitionInfo>();
    for (const [day, info] of inventory.partitions) partitions.set(day, { ...info, version: byDay.get(day) ?? info.version });
    live.tables.set(name, { ...inventory, partitions });
  }
}

export function recordBuilt(live: LiveSnapshot, processor: string, day: Day, entry: LedgerEntry): void {
  let entries = live.ledger.get(processor);
  if (!entries) live.ledger.set(processor, (entries = new Map()));
  entries.set(day, entry);
}
