/**
 * The reference planner: DESIGN §3 transcribed as directly as possible, one partition at a time,
 * recursive and memoised, with no arrays, frames or batching tricks. Slow and obviously correct;
 * the property test holds the real planner to it partition by partition, reason by reason.
 * It shares nothing with src/core/planner*.ts or src/core/inputs.ts (only types and the fingerprint).
 */
import type { Day, DayRange } from '../src/core/dates.js';
import { codeFingerprint } from '../src/core/fingerprint.js';
import type { Mapping, Pipeline, PipelineNode, Processor } from '../src/core/model.js';
import type { BlockedCategory, PartitionPlan, StaleReason, Status, UpstreamDays } from '../src/core/plan.js';
import type { Snapshot } from '../src/core/snapshot.js';

interface Decision {
  readonly status: Status;
  readonly action: 'build' | 'blocked' | 'none';
  readonly plan: PartitionPlan;
}

/** One partition named by a mapping; `day` undefined: it lies before the calendar (no date). */
export type Slot = { readonly day: Day | undefined };

export interface ReferenceProcessor {
  readonly name: string;
  readonly expected: Day[];
  /** Every non-fresh partition. */
  readonly partitions: PartitionPlan[];
}

/**
 * The partitions `d` reads through `mapping` (DESIGN §2), one slot per partition named; a slot's day
 * is undefined when no calendar day answers it (before the calendar, or a day that is no game day).
 * Shared with the make-equivalence test so that neither leans on src/core/inputs.ts.
 */
export function mappedSlots(mapping: Mapping, d: Day, calendarDays: readonly Day[] | undefined): Slot[] {
  const isCalendarDay = (e: Day): boolean => calendarDays === undefined || calendarDays.includes(e);
  /** The partition k calendar positions away from calendar day d; undefined when off the calendar. */
  const shift = (k: number): Day | undefined => (calendarDays === undefined ? d + k : calendarDays[calendarDays.indexOf(d) + k]);
  if (mapping.kind === 'same') return [{ day: d }];
  if (mapping.kind === 'offset') {
    if (mapping.unit === 'days') return [{ day: isCalendarDay(d + mapping.offset) ? d + mapping.offset : undefined }];
    return [{ day: shift(mapping.offset) }];
  }
  const out: Slot[] = [];
  if (mapping.unit === 'days') {
    for (let e = d - mapping.window; e <= (mapping.excludeCurrent ? d - 1 : d); e++) if (isCalendarDay(e)) out.push({ day: e });
  } else {
    for (let j = mapping.window; j >= (mapping.excludeCurrent ? 1 : 0); j--) out.push({ day: shift(-j) });
  }
  return out;
}

export interface ReferenceInput {
  readonly pipeline: Pipeline;
  readonly range: DayRange;
  readonly selection: readonly string[];
  readonly snapshot: Snapshot;
  /** Retention cutoffs count back from here; undefined: nothing expires. */
  readonly today?: Day;
  readonly force?: boolean;
}

export function referencePlan(input: ReferenceInput): ReferenceProcessor[] {
  const { pipeline, range, snapshot } = input;
  const calendarDays = snapshot.calendar;
  const isCalendarDay = (d: Day): boolean => calendarDays === undefined || calendarDays.includes(d);
  const inRange = (d: Day): boolean => d >= range.start && d <= range.end;
  const expected = (node: PipelineNode, d: Day): boolean => isCalendarDay(d) && !(node.kind === 'processor' && node.start !== undefined && d < node.start);
  const selected = new Set(input.selection);
  /** Dated before today minus the node's retention (pipeline.yaml, else the warehouse's expiration). */
  const beforeRetention = (node: PipelineNode, d: Day): boolean => {
    const days = node.retentionDays ?? snapshot.tables.get(node.name)?.expirationDays;
    return days !== undefined && input.today !== undefined && d < input.today - days;
  };
  const judged = (node: PipelineNode, d: Day): boolean =>
    node.kind === 'processor' && selected.has(node.name) && inRange(d) && expected(node, d) && !beforeRetention(node, d);

  const present = (name: string, d: Day): boolean => {
    const entry = snapshot.ledger.get(name)?.get(d);
    return snapshot.tables.get(name)?.partitions.has(d) === true || (entry !== undefined && entry.rows === 0);
  };
  /** time(u): the ledger's builtAt, else the warehouse's changedAt; undefined when unknown. */
  const timeOf = (name: string, d: Day): number | undefined => {
    if (!present(name, d)) return undefined;
    const entry = snapshot.ledger.get(name)?.get(d);
    return entry ? entry.builtAt : snapshot.tables.get(name)?.partitions.get(d)?.changedAt;
  };

  const memo = new Map<string, Decision>();
  const decide = (processor: Processor, d: Day): Decision => {
    const key = `${processor.name}@${d}`;
    const known = memo.get(key);
    if (known) return known;
    const decision = decideNow(processor, d);
    memo.set(key, decision);
    return decision;
  };

  const decideNow = (processor: Processor, d: Day): Decision => {
    const isPresent = present(processor.name, d);
    const entry = snapshot.ledger.get(processor.name)?.get(d);
    const hasLedger = isPresent && entry !== undefined;
    const ownTime = hasLedger ? entry.builtAt : isPresent ? snapshot.tables.get(processor.name)?.partitions.get(d)?.changedAt : undefined;
    const changed: StaleReason[] = [];
    const rebuilt: StaleReason[] = [];
    const staleUp: StaleReason[] = [];
    const gone: StaleReason[] = [];
    const needs: UpstreamDays[] = [];
    const categories = new Set<BlockedCategory>();

    for (const upstream of processor.upstream) {
      const node = pipeline.nodes.get(upstream.name) as PipelineNode;
      const changedDays: Day[] = [];
      const rebuiltDays: Day[] = [];
      const staleDays: Day[] = [];
      const goneDays: Day[] = [];
      const lacking: { day: Day | undefined; category: BlockedCategory }[] = [];
      let usable = 0;
      // Reading itself, a partition that can never exist is where the series begins: not read at all.
      const self = upstream.name === processor.name;
      let canExist = 0;
      for (const slot of mappedSlots(upstream.mapping, d, calendarDays)) {
        const e = slot.day;
        if (e === undefined || !expected(node, e)) {
          if (!self) lacking.push({ day: e, category: 'INSUFFICIENT_HISTORY' });
          continue;
        }
        canExist++;
        const t = timeOf(node.name, e);
        if (ownTime !== undefined && t !== undefined && t > ownTime) changedDays.push(e);
        if (judged(node, e)) {
          const up = decide(node as Processor, e);
          if (up.action === 'none') usable++;
          else if (up.action === 'build') {
            usable++;
            rebuiltDays.push(e);
          } else {
            if (up.status === 'stale') staleDays.push(e);
            else goneDays.push(e);
            lacking.push({ day: e, category: 'MISSING_DEPENDENCIES' });
          }
        } else if (present(node.name, e)) usable++;
        else if (beforeRetention(node, e)) lacking.push({ day: e, category: 'INSUFFICIENT_HISTORY' });
        else {
          goneDays.push(e);
          lacking.push({ day: e, category: inRange(e) ? 'MISSING_DEPENDENCIES' : 'OUT_OF_RANGE' });
        }
      }
      if (changedDays.length > 0)
        changed.push({ kind: hasLedger ? 'upstream_changed' : 'external_older_than_upstream', upstream: upstream.name, days: changedDays });
      if (rebuiltDays.length > 0) rebuilt.push({ kind: 'upstream_rebuilt', upstream: upstream.name, days: rebuiltDays });
      if (staleDays.length > 0) staleUp.push({ kind: 'upstream_stale', upstream: upstream.name, days: staleDays });
      const declared = upstream.mapping.kind === 'lookback' ? upstream.mapping.min : undefined;
      if (declared === undefined && goneDays.length > 0) gone.push({ kind: 'upstream_missing', upstream: upstream.name, days: goneDays });

      const declaredMin = upstream.mapping.kind === 'lookback' ? upstream.mapping.min : undefined;
      const min = declaredMin !== undefined && self ? Math.min(declaredMin, canExist) : declaredMin;
      let lackingNow = lacking;
      if (min !== undefined && usable >= min) lackingNow = lacking.filter((l) => l.day !== undefined && staleDays.includes(l.day));
      if (min !== undefined && usable < min && lacking.length === 0) categories.add('INSUFFICIENT_HISTORY');
      for (const l of lackingNow) categories.add(l.category);
      const dated = lackingNow.map((l) => l.day).filter((x): x is Day => x !== undefined);
      if (dated.length > 0) needs.push({ upstream: upstream.name, days: dated });
    }

    const reasons: StaleReason[] = [];
    const fingerprint = codeFingerprint(processor);
    if (hasLedger && entry.codeFingerprint !== fingerprint) reasons.push({ kind: 'code_changed', was: entry.codeFingerprint, now: fingerprint });
    const info = snapshot.tables.get(processor.name)?.partitions.get(d);
    if (hasLedger && info !== undefined && entry.rows >= 0 && info.rows !== entry.rows) reasons.push({ kind: 'rows_changed', was: entry.rows, now: info.rows });
    if (isPresent && input.force === true) reasons.push({ kind: 'forced' });
    if (isPresent) reasons.push(...changed, ...rebuilt, ...staleUp, ...gone);
    const status: Status = !isPresent ? 'missing' : reasons.length > 0 ? 'stale' : 'fresh';
    if (status === 'fresh') return { status, action: 'none', plan: { day: d, status, action: 'none' } };
    const category = (['MISSING_DEPENDENCIES', 'OUT_OF_RANGE', 'INSUFFICIENT_HISTORY'] as const).find((c) => categories.has(c));
    if (category === undefined) {
      return { status, action: 'build', plan: status === 'stale' ? { day: d, status, action: 'build', reasons } : { day: d, status, action: 'build' } };
    }
    const blocked = { day: d, status, action: 'blocked' as const, category, needs };
    return { status, action: 'blocked', plan: status === 'stale' ? { ...blocked, reasons } : blocked };
  };

  const out: ReferenceProcessor[] = [];
  for (const processor of pipeline.processors) {
    if (!selected.has(processor.name)) continue;
    const expectedDays: Day[] = [];
    const partitions: PartitionPlan[] = [];
    for (let d = range.start; d <= range.end; d++) {
      if (!expected(processor, d) || beforeRetention(processor, d)) continue;
      expectedDays.push(d);
      const decision = decide(processor, d);
      if (decision.status !== 'fresh') partitions.push(decision.plan);
    }
    out.push({ name: processor.name, expected: expectedDays, partitions });
  }
  return out;
}
