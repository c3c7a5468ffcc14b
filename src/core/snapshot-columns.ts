/**
 * A node's partitions column-wise (issue 15): the table's inventory and the ledger joined by day in
 * typed arrays, so an adapter can hand the planner millions of partitions without one object each.
 * The Map forms of the Snapshot interface (tables[...].partitions, ledger[...]) stay: for a columnar
 * node they are read-only views over the columns (binary search on `get`, objects made on demand),
 * so explain, grids, the runner and the test builders work unchanged; the planner reads the columns
 * directly (planner-state.ts).
 */
import { lowerIndex, type Day } from './dates.js';
import type { LedgerEntry, PartitionInfo } from './snapshot.js';

export interface PartitionColumns {
  /** Days ascending, each once: every day the table has rows for or the ledger has an entry for. */
  readonly days: Float64Array;
  /** Rows in the table for the day; NaN when it has none (a ledger entry only). */
  readonly rows: Float64Array;
  /** PartitionInfo.changedAt of the table's rows: NaN unknown, Infinity changed since dag recorded it. */
  readonly changedAt: Float64Array;
  /** Ledger builtAt (epoch ms); NaN when the ledger has no entry for the day. */
  readonly builtAt: Float64Array;
  /** Ledger rows (-1: a command batch that never finished). */
  readonly ledgerRows: Float64Array;
  /** Index into `codes` of the entry's code fingerprint. */
  readonly code: Float64Array;
  readonly codes: readonly string[];
  /** Index into `runs` of the entry's run id. */
  readonly run: Float64Array;
  readonly runs: readonly string[];
  /** PartitionInfo.version of the table's rows at an index (adapter-specific; '' when unknown). */
  readonly versionAt: (index: number) => string;
}

/** Index of `day` in ascending `days`, or -1. */
export function indexOfDay(days: Float64Array, day: Day): number {
  const i = lowerIndex(days, day);
  return days[i] === day ? i : -1;
}

/** A read-only Map over the indexes of `columns` that `has(i)` keeps. */
abstract class ColumnView<V> implements ReadonlyMap<Day, V> {
  readonly size: number;
  constructor(protected readonly columns: PartitionColumns) {
    let size = 0;
    for (let i = 0; i < columns.days.length; i++) if (this.holds(i)) size++;
    this.size = size;
  }
  protected abstract holds(index: number): boolean;
  protected abstract valueAt(index: number): V;
  get(day: Day): V | undefined {
    const i = indexOfDay(this.columns.days, day);
    return i >= 0 && this.holds(i) ? this.valueAt(i) : undefined;
  }
  has(day: Day): boolean {
    const i = indexOfDay(this.columns.days, day);
    return i >= 0 && this.holds(i);
  }
  *entries(): MapIterator<[Day, V]> {
    for (let i = 0; i < this.columns.days.length; i++) if (this.holds(i)) yield [this.columns.days[i] as Day, this.valueAt(i)];
  }
  *keys(): MapIterator<Day> {
    for (const [day] of this.entries()) yield day;
  }
  *values(): MapIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }
  forEach(callback: (value: V, key: Day, map: ReadonlyMap<Day, V>) => void): void {
    for (const [day, value] of this.entries()) callback(value, day, this);
  }
  [Symbol.iterator](): MapIterator<[Day, V]> {
    return this.entries();
  }
}

/** The table's inventory (TableInventory.partitions) of a columnar node. */
export class InventoryView extends ColumnView<PartitionInfo> {
  protected holds(i: number): boolean {
    return !Number.isNaN(this.columns.rows[i]);
  }
  protected valueAt(i: number): PartitionInfo {
    const changedAt = this.columns.changedAt[i] as number;
    return { rows: this.columns.rows[i] as number, version: this.columns.versionAt(i), changedAt: Number.isNaN(changedAt) ? undefined : changedAt };
  }
}

/** The ledger entries (Snapshot.ledger) of a columnar node. */
export class LedgerView extends ColumnView<LedgerEntry> {
  protected holds(i: number): boolean {
    return !Number.isNaN(this.columns.builtAt[i]);
  }
  protected valueAt(i: number): LedgerEntry {
    const c = this.columns;
    return {
      runId: c.runs[c.run[i] as number] ?? '',
      builtAt: c.builtAt[i] as number,
      rows: c.ledgerRows[i] as number,
      codeFingerprint: c.codes[c.code[i] as number] ?? '',
    };
  }
}

/** Interned strings: index per distinct value, for the code and run columns. */
function interner(): { list: string[]; id: (text: string) => number } {
  const list: string[] = [];
  const ids = new Map<string, number>();
  return {
    list,
    id: (text) => {
      let id = ids.get(text);
      if (id === undefined) ids.set(text, (id = list.push(text) - 1));
      return id;
    },
  };
}

/**
 * The columns of a node from its Map forms (an adapter that reads rows, or a test builder): the same
 * facts, so a plan over either is the same plan (test/snapshot-columns.test.ts).
 */
export function columnsFromMaps(partitions: ReadonlyMap<Day, PartitionInfo> | undefined, ledger: ReadonlyMap<Day, LedgerEntry> | undefined): PartitionColumns {
  const days = [...new Set([...(partitions?.keys() ?? []), ...(ledger?.keys() ?? [])])].sort((a, b) => a - b);
  const n = days.length;
  const columns = {
    days: Float64Array.from(days),
    rows: new Float64Array(n),
    changedAt: new Float64Array(n),
    builtAt: new Float64Array(n),
    ledgerRows: new Float64Array(n),
    code: new Float64Array(n),
    run: new Float64Array(n),
  };
  const codes = interner();
  const runs = interner();
  const versions: string[] = [];
  days.forEach((day, i) => {
    const info = partitions?.get(day);
    const entry = ledger?.get(day);
    columns.rows[i] = info ? info.rows : NaN;
    columns.changedAt[i] = info?.changedAt ?? NaN;
    versions[i] = info?.version ?? '';
    columns.builtAt[i] = entry ? entry.builtAt : NaN;
    columns.ledgerRows[i] = entry ? entry.rows : NaN;
    columns.code[i] = entry ? codes.id(entry.codeFingerprint) : NaN;
    columns.run[i] = entry ? runs.id(entry.runId) : NaN;
  });
  return { ...columns, codes: codes.list, runs: runs.list, versionAt: (i) => versions[i] ?? '' };
}
