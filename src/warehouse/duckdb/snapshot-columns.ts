/**
 * The DuckDB snapshot read column-wise (issue 15): every result is numeric DOUBLE columns copied into
 * Float64Arrays (SerialConnection.numbers), never a JS value per cell nor a text blob. Inventories
 * are read many tables per query (UNION ALL of bounded groups), and a source partition's version is
 * compared with each recorded one in SQL: JS gets a time and a 0/1 per recorded version, not strings,
 * and keeps the latest (sliceSources).
 * The ledger comes back as numbers too: code fingerprints and run ids as indexes into short lists.
 */
import type { PipelineNode } from '../../core/model.js';
import type { PartitionColumns } from '../../core/snapshot-columns.js';
import { classifyDuckdbError, isOutOfMemory, type SerialConnection } from './connection.js';
import { dayExpression, qualifiedTable, quoteIdent, quoteString } from './sql.js';

/** Tables per inventory query: enough to make a table cost a fraction of a round trip, small enough to stay a readable statement. */
export const TABLES_PER_QUERY = 64;

/**
 * Sources get a content hash per partition (sum of row hashes: order-free, duplicates count), its
 * 128-bit sum split at 2^52 into two exact halves (sourceVersion). The sum of unsigned hashes is never
 * negative, so a shift and a mask give exactly the quotient and remainder of dividing by 2^52, at a
 * third of the cost: DuckDB's HUGEINT division was half of a 300-source plan's CPU time (issue 15).
 */
export const hashHalves = (sum: string): readonly [string, string] => [`${sum} >> 52`, `${sum} & 4503599627370495`];

/** How an inventory reads a table: a processor (no versions), a source left pending (versions unknown), a hashed source. */
export type InventoryKind = 'processor' | 'pending' | 'hashed';

export interface InventoryRequest {
  readonly node: PipelineNode;
  readonly kind: InventoryKind;
  /** Partitions the table is expected to hold (a processor's ledger entries), to size the result's arrays. */
  readonly expected?: number;
}

/** One table's inventory, ascending by day: row count, changedAt (NaN unknown, Infinity changed), hash halves (NaN: none). */
export interface InventorySlice {
  readonly days: Float64Array;
  readonly rows: Float64Array;
  readonly changedAt: Float64Array;
  readonly high: Float64Array;
  readonly low: Float64Array;
}

/**
 * One query for a group of tables: per table its days, counts and (hashed sources) hash halves, each
 * joined with every version recorded for it (a source partition recorded k times comes back k times:
 * sliceSources keeps the latest). Comparing the current version with the recorded text stays in SQL
 * (exact, one 0/1 per recorded row); finding the latest is left to JS, where the rows arrive grouped:
 * an arg_max over `source_versions` plus an ORDER BY were two thirds of a 300-source plan (issue 15).
 * Tables are grouped by their DATE column itself (an expression key loses DuckDB's perfect-hash
 * aggregate). `recordedTable` is the ledger's source_versions table, when it exists.
 * Columns: table index, day, rows, hash high, hash low (NaN: none), recorded at (NaN: none), same (0/1).
 */
export function inventoryGroupSql(requests: readonly InventoryRequest[], recordedTable: string | undefined): string {
  if (requests.every((r) => r.kind === 'processor')) return processorGroupSql(requests);
  const branches = requests.map(({ node, kind }, i) => {
    const column = `t.${quoteIdent(node.partitionColumn)}`;
    const hash = kind === 'hashed' ? 'sum(hash(t))' : 'NULL::HUGEINT';
    return `SELECT ${i} AS t, ${column} AS d, count(*) AS n, ${hash} AS h FROM ${qualifiedTable(node.table)} AS t WHERE ${column} IS NOT NULL GROUP BY ${column}`;
  });
  const [high, low] = hashHalves('v.h');
  const inventory = `SELECT v.t::DOUBLE, (v.d - DATE '1970-01-01')::DOUBLE, v.n::DOUBLE, coalesce((${high})::DOUBLE, 'nan'::DOUBLE), coalesce((${low})::DOUBLE, 'nan'::DOUBLE)`;
  const from = `FROM (${branches.join(' UNION ALL ')}) AS v`;
  const hashed = requests.map((r, i) => [r, i] as const).filter(([r]) => r.kind === 'hashed');
  if (recordedTable === undefined || hashed.length === 0) return `${inventory}, 'nan'::DOUBLE, 0::DOUBLE ${from}`;
  const version = `(${high})::VARCHAR || '.' || (${low})::VARCHAR || ':' || v.n::VARCHAR`;
  const recorded = `SELECT s.t, r.partition_date, r.version, r.recorded_at FROM ${recordedTable} AS r JOIN (VALUES ${hashed.map(([r, i]) => `(${quoteString(r.node.name)}, ${i})`).join(', ')}) AS s(source, t) USING (source)`;
  return `${inventory}, coalesce(epoch_ms(r.recorded_at)::DOUBLE, 'nan'::DOUBLE), coalesce((r.version = ${version})::DOUBLE, 0::DOUBLE) ${from} LEFT JOIN (${recorded}) AS r ON r.t = v.t AND r.partition_date = v.d`;
}

/**
 * Processors only: day and row count, no versions (three result columns instead of six). One
 * aggregate over the UNION ALL of the tables' days rather than one per table: each GROUP BY builds
 * its own hash table in fresh memory, which made 64 small tables cost three times as much warm as
 * the same rows counted once (issue 15).
 */
function processorGroupSql(requests: readonly InventoryRequest[]): string {
  const branches = requests.map(({ node }, i) => {
    const column = `t.${quoteIdent(node.partitionColumn)}`;
    return `SELECT ${i} AS i, ${dayExpression(column)} AS day FROM ${qualifiedTable(node.table)} AS t WHERE ${column} IS NOT NULL`;
  });
  return `SELECT i::DOUBLE, day::DOUBLE, count(*)::DOUBLE FROM (${branches.join(' UNION ALL ')}) GROUP BY i, day ORDER BY 1, 2`;
}

/**
 * Splits a result ordered by (table index, day) into one slice per request. A processors-only result
 * has no changedAt or hash columns: theirs are one shared NaN array.
 */
export function sliceByTable(columns: readonly Float64Array[], count: number): InventorySlice[] {
  const [t = new Float64Array(), days = t, rows = t] = columns;
  const none = columns.length < 6 ? new Float64Array(t.length).fill(NaN) : undefined;
  const [changedAt = none ?? t, high = none ?? t, low = none ?? t] = columns.slice(3);
  const slices: InventorySlice[] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    let end = start;
    while (end < t.length && t[end] === i) end++;
    slices.push({
      days: days.subarray(start, end),
      rows: rows.subarray(start, end),
      changedAt: changedAt.subarray(start, end),
      high: high.subarray(start, end),
      low: low.subarray(start, end),
    });
    start = end;
  }
  return slices;
}

/**
 * A sources query's result (inventoryGroupSql) as one slice per request: rows in (table, day) order
 * (sorted here when DuckDB returned them otherwise), one row per partition. Of a partition's recorded
 * versions the latest counts (as arg_max did): changedAt is when it was recorded if it is the current
 * version, else Infinity (changed, or never recorded; two versions recorded at the same latest time
 * count as changed unless both match). Pending sources are Infinity, processors NaN.
 */
export function sliceSources(columns: readonly Float64Array[], requests: readonly InventoryRequest[]): InventorySlice[] {
  const [t = new Float64Array(), days = t, rows = t, high = t, low = t, at = t, same = t] = columns;
  const order = tableDayOrder(t, days);
  const size = t.length;
  const kinds = Float64Array.from(requests, (r) => KIND_CODE[r.kind]);
  if (order === 'unique') {
    // The usual case: in order, at most one recorded version per partition. changedAt in place.
    for (let k = 0; k < size; k++) {
      const kind = kinds[t[k] as number];
      at[k] = kind === PROCESSOR ? NaN : kind === PENDING || same[k] !== 1 || Number.isNaN(at[k]) ? Infinity : (at[k] as number);
    }
    return sliceByTable([t, days, rows, at, high, low], requests.length);
  }
  const [outT, outDays, outRows, changedAt, outHigh, outLow] = [0, 1, 2, 3, 4, 5].map(() => new Float64Array(size)) as [
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
  ];
  const current = new Uint8Array(size); // 1 while every version recorded at the latest time matches
  let n = -1;
  for (let k = 0; k < size; k++) {
    const row = order === 'sorted' ? k : (order[k] as number);
    const table = t[row] as number;
    const day = days[row] as number;
    if (n < 0 || outT[n] !== table || outDays[n] !== day) {
      n++;
      outT[n] = table;
      outDays[n] = day;
      outRows[n] = rows[row] as number;
      outHigh[n] = high[row] as number;
      outLow[n] = low[row] as number;
      changedAt[n] = NaN; // the latest recorded time, for now
      current[n] = 1;
    }
    const when = at[row] as number;
    if (Number.isNaN(when)) continue;
    const latest = changedAt[n] as number;
    if (Number.isNaN(latest) || when > latest) {
      changedAt[n] = when;
      current[n] = same[row] === 1 ? 1 : 0;
    } else if (when === latest && same[row] !== 1) current[n] = 0;
  }
  for (let k = 0; k <= n; k++) {
    const kind = kinds[outT[k] as number];
    if (kind === PROCESSOR) changedAt[k] = NaN;
    else if (kind === PENDING || current[k] === 0 || Number.isNaN(changedAt[k])) changedAt[k] = Infinity;
  }
  return sliceByTable(
    [outT, outDays, outRows, changedAt, outHigh, outLow].map((column) => column.subarray(0, n + 1)),
    requests.length,
  );
}

/**
 * The rows' order by (table, day): 'unique' when they are in it with no (table, day) twice (the usual
 * case: DuckDB returns the groups in order), 'sorted' when in it with repeats, else the permutation.
 */
function tableDayOrder(t: Float64Array, days: Float64Array): 'unique' | 'sorted' | Uint32Array {
  let unique = true;
  for (let k = 1; k < t.length; k++) {
    const table = t[k] as number;
    const before = t[k - 1] as number;
    if (table > before) continue;
    const day = days[k] as number;
    const dayBefore = days[k - 1] as number;
    if (table < before || day < dayBefore) return byTableDay(t, days);
    if (day === dayBefore) unique = false;
  }
  return unique ? 'unique' : 'sorted';
}

/**
 * The permutation that orders rows by (table, day): a counting sort on table × day span, the keys
 * being small integers (a 300-source plan's joined groups come back in hash order: a comparison
 * sort of 233k rows a group was most of sliceSources). Rows of one (table, day) keep no particular
 * order; sliceSources needs none. A sparse key range falls back to a comparison sort.
 */
function byTableDay(t: Float64Array, days: Float64Array): Uint32Array {
  const size = t.length;
  let first = Infinity;
  let last = -Infinity;
  let tables = 0;
  for (let k = 0; k < size; k++) {
    const day = days[k] as number;
    if (day < first) first = day;
    if (day > last) last = day;
    if ((t[k] as number) >= tables) tables = (t[k] as number) + 1;
  }
  const span = last - first + 1;
  if (!(tables * span <= 4 * size + 1_000_000))
    return Uint32Array.from(t, (_, i) => i).sort((a, b) => (t[a] as number) - (t[b] as number) || (days[a] as number) - (days[b] as number));
  const starts = new Uint32Array(tables * span + 1);
  for (let k = 0; k < size; k++) (starts[(t[k] as number) * span + (days[k] as number) - first + 1] as number)++;
  for (let b = 1; b < starts.length; b++) starts[b] = (starts[b] as number) + (starts[b - 1] as number);
  const order = new Uint32Array(size);
  for (let k = 0; k < size; k++) order[(starts[(t[k] as number) * span + (days[k] as number) - first] as number)++] = k;
  return order;
}

const [PROCESSOR, PENDING, HASHED] = [0, 1, 2];
const KIND_CODE: Readonly<Record<InventoryKind, number>> = { processor: PROCESSOR, pending: PENDING, hashed: HASHED };

/** A group's result as slices: processors-only results have their own shape (processorGroupSql). */
function slicesOf(columns: readonly Float64Array[], requests: readonly InventoryRequest[]): InventorySlice[] {
  return requests.every((r) => r.kind === 'processor') ? sliceByTable(columns, requests.length) : sliceSources(columns, requests);
}

/** An inventory query failed because of one table (a view over a moved file, say): `reads` names it. */
export class TableReadError extends Error {
  constructor(
    readonly reads: string,
    override readonly cause: unknown,
  ) {
    super(`${reads}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/**
 * Rows a group's result is first sized for: a processor's ledger entries (plus a little), else ten
 * years of days; grown when more come. Passing a size streams the result chunk by chunk off the main
 * thread, where a materialized one was converted chunk by chunk on it (getChunk: a third of a
 * 300-source plan's JS time). Ten years for every table zeroed 200 MB of arrays for 2,000 tables of
 * 30 days each (issue 15).
 */
function rowsGuess(requests: readonly InventoryRequest[]): number {
  return requests.reduce((sum, request) => sum + (request.expected === undefined ? ROWS_GUESS : request.expected + 8), 0);
}

const ROWS_GUESS = 4096;

/**
 * Reads a group's inventories in one query. When it fails, each table is read alone to find the
 * ones at fault: their places hold a TableReadError naming them, the others their inventory (an
 * interrupt is passed on as it is: another query failed; so is running out of memory in a
 * `bounded` read).
 */
export async function readInventoryGroup(
  connection: SerialConnection,
  requests: readonly InventoryRequest[],
  recordedTable: string | undefined,
  reads: (node: PipelineNode) => string,
  bounded = false,
): Promise<(InventorySlice | TableReadError)[]> {
  try {
    return slicesOf(await connection.numbers(inventoryGroupSql(requests, recordedTable), rowsGuess(requests)), requests);
  } catch (error) {
    // Bounded, running out of memory says nothing about the tables: the caller reads them again unbounded.
    if (classifyDuckdbError(error) === 'CANCELLED' || (bounded && isOutOfMemory(error))) throw error;
    const slices: (InventorySlice | TableReadError)[] = [];
    for (const request of requests) {
      try {
        slices.push(slicesOf(await connection.numbers(inventoryGroupSql([request], recordedTable)), [request])[0] as InventorySlice);
      } catch (alone) {
        if (classifyDuckdbError(alone) === 'CANCELLED') throw alone;
        slices.push(new TableReadError(reads(request.node), alone));
      }
    }
    return slices;
  }
}

/** The ledger entries of some owners, ascending by owner index then day; codes and runs as indexes. */
export interface LedgerColumns {
  readonly owner: Float64Array;
  readonly days: Float64Array;
  readonly builtAt: Float64Array;
  readonly rows: Float64Array;
  readonly code: Float64Array;
  readonly run: Float64Array;
  readonly codes: readonly string[];
  readonly runs: readonly string[];
}

/** Index range [start, end) of each owner in ledger columns ordered by owner. */
export function ownerRanges(ledger: LedgerColumns, count: number): [number, number][] {
  const ranges: [number, number][] = [];
  let start = 0;
  for (let i = 0; i < count; i++) {
    let end = start;
    while (end < ledger.owner.length && ledger.owner[end] === i) end++;
    ranges.push([start, end]);
    start = end;
  }
  return ranges;
}

/**
 * A node's PartitionColumns: its inventory slice and its ledger rows [from, to) merged by day (both
 * ascending). A day the ledger lists twice keeps its last row, as a Map would. A table row's version
 * is `versionOf` its inventory row (sources), else the run id of its ledger entry (processors: the
 * version is the entry; the run id is a label).
 */
export function mergeColumns(
  inventory: InventorySlice | undefined,
  ledger: LedgerColumns,
  from: number,
  to: number,
  versionOf?: (slice: InventorySlice, index: number) => string,
): PartitionColumns {
  const inv = inventory ?? {
    days: new Float64Array(),
    rows: new Float64Array(),
    changedAt: new Float64Array(),
    high: new Float64Array(),
    low: new Float64Array(),
  };
  if (from === to) return inventoryOnly(inv, ledger, versionOf);
  if (sameDays(inv.days, ledger.days, from, to)) return alongside(inv, ledger, from, to, versionOf);
  const capacity = inv.days.length + (to - from);
  const out = {
    days: new Float64Array(capacity),
    rows: new Float64Array(capacity),
    changedAt: new Float64Array(capacity),
    builtAt: new Float64Array(capacity),
    ledgerRows: new Float64Array(capacity),
    code: new Float64Array(capacity),
    run: new Float64Array(capacity),
  };
  const source = new Int32Array(capacity); // inventory index per merged row, -1 without one
  let n = 0;
  let i = 0;
  let j = from;
  const setLedger = (k: number, row: number): void => {
    out.builtAt[k] = ledger.builtAt[row] as number;
    out.ledgerRows[k] = ledger.rows[row] as number;
    out.code[k] = ledger.code[row] as number;
    out.run[k] = ledger.run[row] as number;
  };
  while (i < inv.days.length || j < to) {
    const a = i < inv.days.length ? (inv.days[i] as number) : Infinity;
    const b = j < to ? (ledger.days[j] as number) : Infinity;
    if (b < a && n > 0 && out.days[n - 1] === b) {
      setLedger(n - 1, j++); // the ledger lists the day again: the later row wins
      continue;
    }
    const day = Math.min(a, b);
    out.days[n] = day;
    if (a === day) {
      out.rows[n] = inv.rows[i] as number;
      out.changedAt[n] = inv.changedAt[i] as number;
      source[n] = i++;
    } else {
      out.rows[n] = NaN;
      out.changedAt[n] = NaN;
      source[n] = -1;
    }
    if (b === day) setLedger(n, j++);
    else out.builtAt[n] = out.ledgerRows[n] = out.code[n] = out.run[n] = NaN;
    n++;
  }
  const trim = <T extends Float64Array>(a: T): T => a.subarray(0, n) as T;
  const merged = {
    days: trim(out.days),
    rows: trim(out.rows),
    changedAt: trim(out.changedAt),
    builtAt: trim(out.builtAt),
    ledgerRows: trim(out.ledgerRows),
    code: trim(out.code),
    run: trim(out.run),
  };
  return {
    ...merged,
    codes: ledger.codes,
    runs: ledger.runs,
    versionAt: versionOf ? rowVersion(inv, source, versionOf) : runVersion(merged.rows, merged.run, ledger.runs),
  };
}

/**
 * A source row's version from its inventory row. The closures keep only what they read: a plan of
 * millions of partitions must not hold the ledger's query result alive through a version lookup.
 */
function rowVersion(inv: InventorySlice, source: Int32Array, versionOf: (slice: InventorySlice, index: number) => string): (k: number) => string {
  return (k) => {
    const row = source[k] ?? -1;
    return row >= 0 ? versionOf(inv, row) : '';
  };
}

/** A processor's table row is versioned by its ledger entry's run id ('' without a table row or an entry). */
function runVersion(rows: Float64Array, run: Float64Array, runs: readonly string[]): (k: number) => string {
  return (k) => (Number.isNaN(rows[k]) || Number.isNaN(run[k]) ? '' : (runs[run[k] as number] ?? ''));
}

/** The ledger rows [from, to) are for exactly the inventory's days (a processor fully built by dag: the usual case). */
function sameDays(days: Float64Array, ledgerDays: Float64Array, from: number, to: number): boolean {
  if (days.length !== to - from) return false;
  for (let i = 0; i < days.length; i++) if (days[i] !== ledgerDays[from + i]) return false;
  return true;
}

/** Inventory and ledger row by row on the same days: both results' arrays as they are, no copy. */
function alongside(
  inv: InventorySlice,
  ledger: LedgerColumns,
  from: number,
  to: number,
  versionOf: ((slice: InventorySlice, index: number) => string) | undefined,
): PartitionColumns {
  const run = ledger.run.subarray(from, to);
  const columns = {
    days: inv.days,
    rows: inv.rows,
    changedAt: inv.changedAt,
    builtAt: ledger.builtAt.subarray(from, to),
    ledgerRows: ledger.rows.subarray(from, to),
    code: ledger.code.subarray(from, to),
    run,
  };
  const source = versionOf ? Int32Array.from(inv.days, (_, i) => i) : new Int32Array();
  return {
    ...columns,
    codes: ledger.codes,
    runs: ledger.runs,
    versionAt: versionOf ? rowVersion(inv, source, versionOf) : runVersion(inv.rows, run, ledger.runs),
  };
}

/** A node without ledger rows (every source, a processor never built): the inventory's own arrays, no copy. */
function inventoryOnly(
  inv: InventorySlice,
  ledger: LedgerColumns,
  versionOf: ((slice: InventorySlice, index: number) => string) | undefined,
): PartitionColumns {
  const none = new Float64Array(inv.days.length).fill(NaN);
  return {
    days: inv.days,
    rows: inv.rows,
    changedAt: inv.changedAt,
    builtAt: none,
    ledgerRows: none,
    code: none,
    run: none,
    codes: ledger.codes,
    runs: ledger.runs,
    versionAt: versionOf ? (k) => (k < inv.days.length ? versionOf(inv, k) : '') : () => '',
  };
}
