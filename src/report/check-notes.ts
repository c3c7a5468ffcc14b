/**
 * Partitions of a plan whose last build failed a data check (DESIGN §9): `plan` and `explain` say so
 * beside their status, so "missing" or "stale" on the same day after every run has its reason.
 */
import { formatDay, type Day } from '../core/dates.js';
import type { Plan } from '../core/plan.js';
import type { Snapshot } from '../core/snapshot.js';

export interface CheckFailureNote {
  readonly processor: string;
  readonly day: Day;
  /** The CHECK_FAILED message: the check, the count, sample rows. */
  readonly message: string;
}

/** Every non-fresh partition of the plan whose latest failure is CHECK_FAILED, in plan order. */
export function checkFailureNotes(plan: Plan, snapshot: Snapshot): CheckFailureNote[] {
  const notes: CheckFailureNote[] = [];
  if (!snapshot.checkFailures || snapshot.checkFailures.size === 0) return notes;
  for (const p of plan.processors) {
    const failed = snapshot.checkFailures.get(p.name);
    if (!failed) continue;
    for (const partition of p.partitions) {
      const message = failed.get(partition.day);
      if (message !== undefined) notes.push({ processor: p.name, day: partition.day, message });
    }
  }
  return notes;
}

/** `  P 2021-11-03: last build failed check ...`, one line each (messages cut to a line's worth). */
export function checkFailureLines(notes: readonly CheckFailureNote[]): string[] {
  return notes.map((n) => {
    const text = n.message.length > 300 ? `${n.message.slice(0, 297)}...` : n.message;
    return `  ${n.processor} ${formatDay(n.day)}: last build failed ${text}`;
  });
}

/** The plan text's section (empty when no partition failed a check). */
export function checkFailureText(notes: readonly CheckFailureNote[]): string {
  return notes.length === 0
    ? ''
    : `\nFailed checks (CHECK_FAILED: not committed; fix the data or the check, then run again)\n${checkFailureLines(notes).join('\n')}\n`;
}

/** For `plan --json`: `check_failures`. */
export function checkFailuresJson(notes: readonly CheckFailureNote[]): { processor: string; date: string; message: string }[] {
  return notes.map((n) => ({ processor: n.processor, date: formatDay(n.day), message: n.message }));
}
