/**
 * The planner's working memory: for every node a plan reads, one small class code and one time per
 * calendar position of a "frame" (the range plus as far as any mapping reaches). Typed arrays indexed
 * by position keep a 200 × 3,650 plan free of per-partition objects for the partitions that are fine.
 */
import type { Calendar } from './calendar.js';
import { lowerIndex, type Day, type DayRange } from './dates.js';
import { beforeStart, mappingReach } from './inputs.js';
import type { PipelineNode, Processor } from './model.js';
import type { PartitionColumns } from './snapshot-columns.js';
import { isPresent, partitionTime, type LedgerEntry, type PartitionInfo, type Snapshot } from './snapshot.js';

/** How a partition looks to the partitions that read it. */
export const InputClass = {
  /** Present and usable as it is: fresh, or outside the plan's judgement and present. */
  Ok: 0,
  /** Will be built in this plan (before its readers). Usable. */
  Rebuilt: 1,
  /** Absent inside the range and will not be built: a source gap, or blocked itself. */
  LackMissing: 2,
  /** Expected, absent, outside the range (widen the range to build it). */
  LackOutOfRange: 3,
  /** Present but stale, and cannot be rebuilt in this plan. */
  StaleBlocked: 4,
  /** Dated before the upstream processor's `start`: can never exist. */
  Never: 5,
  /** Absent and dated before today minus the node's retention: gone by design, never coming back. */
  Expired: 6,
} as const;

export interface NodeState {
  readonly node: PipelineNode;
  /** InputClass per frame position. */
  readonly cls: Uint8Array;
  /** time(u) per frame position (ledger builtAt, else changedAt); NaN when absent or unknown. */
  readonly time: Float64Array;
  /** OWN_* bits per frame position, so judging a processor need not look its partitions up again. */
  readonly own: Uint8Array;
}

/** Present (inventory, or ledger with zero rows). */
export const OWN_PRESENT = 1;
/** Present with a ledger entry (built by dag); absent bit with PRESENT means built outside dag. */
export const OWN_LEDGER = 2;
/** The ledger entry's code fingerprint differs from the processor's current one. */
export const OWN_CODE_CHANGED = 4;
/** The table's row count for the partition differs from the ledger's (rows deleted or added behind dag's back). */
export const OWN_ROWS_CHANGED = 8;

/**
 * The first day that is not expired for a node (DESIGN §3 "Expected to vanish"): today minus its
 * `retention:`, else minus the warehouse's partition expiration; undefined when nothing expires.
 */
export function retentionCutoff(node: PipelineNode, snapshot: Snapshot, today: Day): Day | undefined {
  const days = node.retentionDays ?? snapshot.tables.get(node.name)?.expirationDays;
  return days === undefined ? undefined : today - days;
}

/** Rows recorded by the ledger differ from rows in the table (a marker of an unfinished command, rows -1, never compares). */
export function rowsChanged(info: PartitionInfo | undefined, entry: LedgerEntry | undefined): boolean {
  return info !== undefined && entry !== undefined && entry.rows >= 0 && info.rows !== entry.rows;
}

export interface Frame {
  /** Lowest and highest calendar positions any judged partition can read. */
  readonly lo: number;
  readonly hi: number;
  /** Positions of the first and last calendar days inside the range (first > last: none). */
  readonly rangeFirst: number;
  readonly rangeLast: number;
}

export function makeFrame(selected: readonly Processor[], range: DayRange, calendar: Calendar): Frame {
  const rangeFirst = calendar.lowerBound(range.start);
  const rangeLast = calendar.upperBound(range.end) - 1;
  let lo = rangeFirst;
  let hi = rangeLast;
  for (const processor of selected) {
    for (const upstream of processor.upstream) {
      const reach = mappingReach(upstream.mapping);
      if (reach.unit === 'partitions') {
        lo = Math.min(lo, rangeFirst - reach.back);
        hi = Math.max(hi, rangeLast + reach.forward);
      } else {
        lo = Math.min(lo, calendar.lowerBound(range.start - reach.back));
        hi = Math.max(hi, calendar.upperBound(range.end + reach.forward) - 1);
      }
    }
  }
  return {
    lo: Math.max(lo, calendar.minPosition),
    hi: Math.min(hi, calendar.endPosition - 1),
    rangeFirst,
    rangeLast,
  };
}

/**
 * A node's partitions taken as they are: present or absent (DESIGN §3: partitions outside the range,
 * source partitions and unselected processors are not judged; see isPresent).
 */
export function initialState(node: PipelineNode, snapshot: Snapshot, frame: Frame, calendar: Calendar, today: Day, fingerprint?: string): NodeState {
  const size = Math.max(0, frame.hi - frame.lo + 1);
  const state: NodeState = { node, cls: new Uint8Array(size), time: new Float64Array(size), own: new Uint8Array(size) };
  const columns = snapshot.columns?.get(node.name);
  if (columns) fillFromColumns(state, columns, frame, calendar, retentionCutoff(node, snapshot, today) ?? -Infinity, fingerprint);
  else fillFromMaps(state, snapshot, frame, calendar, retentionCutoff(node, snapshot, today) ?? -Infinity, fingerprint);
  return state;
}

/** How an absent partition at a position looks to its readers. */
function absentClass(node: PipelineNode, day: Day, position: number, frame: Frame, cutoff: number): number {
  if (beforeStart(node, day)) return InputClass.Never;
  if (day < cutoff) return InputClass.Expired;
  return position >= frame.rangeFirst && position <= frame.rangeLast ? InputClass.LackMissing : InputClass.LackOutOfRange;
}

function fillFromMaps(state: NodeState, snapshot: Snapshot, frame: Frame, calendar: Calendar, cutoff: number, fingerprint: string | undefined): void {
  const { node, cls, time, own } = state;
  const inventory = snapshot.tables.get(node.name)?.partitions;
  const ledger = snapshot.ledger.get(node.name);
  for (let i = 0; i < cls.length; i++) {
    const position = frame.lo + i;
    const day = calendar.dayAt(position) as Day;
    time[i] = NaN;
    const info = inventory?.get(day);
    const entry = ledger?.get(day);
    if (beforeStart(node, day) || !isPresent(info, entry)) {
      cls[i] = absentClass(node, day, position, frame, cutoff);
      continue;
    }
    cls[i] = InputClass.Ok;
    time[i] = partitionTime(info, entry) ?? NaN;
    own[i] =
      OWN_PRESENT |
      (entry !== undefined ? OWN_LEDGER : 0) |
      (entry !== undefined && fingerprint !== undefined && entry.codeFingerprint !== fingerprint ? OWN_CODE_CHANGED : 0) |
      (rowsChanged(info, entry) ? OWN_ROWS_CHANGED : 0);
  }
}

/**
 * The same judgement as fillFromMaps, straight from typed columns: every position starts absent,
 * then each day the columns hold inside the frame is set from its row (isPresent, partitionTime and
 * rowsChanged on numbers: a NaN row count is no inventory row, a NaN builtAt no ledger entry).
 */
function fillFromColumns(state: NodeState, columns: PartitionColumns, frame: Frame, calendar: Calendar, cutoff: number, fingerprint: string | undefined): void {
  const { node, cls, time, own } = state;
  for (let i = 0; i < cls.length; i++) {
    const position = frame.lo + i;
    cls[i] = absentClass(node, calendar.dayAt(position) as Day, position, frame, cutoff);
    time[i] = NaN;
  }
  if (cls.length === 0) return;
  const codeChanged = columns.codes.map((code) => fingerprint !== undefined && code !== fingerprint);
  const { days, rows, changedAt, builtAt, ledgerRows, code } = columns;
  const lastDay = calendar.dayAt(frame.hi) as Day;
  for (let k = lowerIndex(days, calendar.dayAt(frame.lo) as Day); k < days.length; k++) {
    const day = days[k] as Day;
    if (day > lastDay) break;
    const position = calendar.position(day);
    if (position < 0 || beforeStart(node, day)) continue;
    const hasInfo = !Number.isNaN(rows[k]);
    const hasEntry = !Number.isNaN(builtAt[k]);
    const entryRows = ledgerRows[k] as number;
    if (!hasInfo && !(hasEntry && entryRows === 0)) continue;
    const i = position - frame.lo;
    cls[i] = InputClass.Ok;
    time[i] = hasEntry ? (builtAt[k] as number) : (changedAt[k] as number);
    own[i] =
      OWN_PRESENT |
      (hasEntry ? OWN_LEDGER : 0) |
      (hasEntry && codeChanged[code[k] as number] === true ? OWN_CODE_CHANGED : 0) |
      (hasInfo && hasEntry && entryRows >= 0 && rows[k] !== entryRows ? OWN_ROWS_CHANGED : 0);
  }
}
