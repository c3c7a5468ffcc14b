/**
 * Identical failures, reported once with the dates they cover: `PROCESSOR_ERROR ×30 2021-11-01..30: ...`
 * (the ledger keeps a row per partition). "Identical" is the runner's own test (policy.ts failureKey):
 * category and first line, dates masked. The live view, the summary and `--json` all group this way.
 */
import { formatDay, type Day } from '../core/dates.js';
import type { FailureCategory } from '../warehouse/port.js';
import { failureKey } from '../runner/policy.js';
import { firstLine } from '../warehouse/shared.js';
import { compactDays } from './ranges.js';

export interface FailureGroup {
  readonly processor: string;
  readonly category: FailureCategory;
  /** The first member's message (full: a command's log tail follows its first line). */
  readonly message: string;
  /** Ascending. */
  readonly days: Day[];
}

/** Groups in order of first appearance; `add` tells whether the failure started a new group. */
export class FailureGroups {
  private readonly groups = new Map<string, FailureGroup>();

  add(processor: string, day: Day, failure: { readonly category: FailureCategory; readonly message: string }): FailureGroup {
    const key = `${processor}\u0000${failureKey(failure)}`;
    let group = this.groups.get(key);
    if (!group) this.groups.set(key, (group = { processor, category: failure.category, message: failure.message, days: [] }));
    const at = group.days.findIndex((d) => d > day);
    if (at < 0) group.days.push(day);
    else group.days.splice(at, 0, day);
    return group;
  }

  has(processor: string, failure: { readonly category: FailureCategory; readonly message: string }): boolean {
    return this.groups.has(`${processor}\u0000${failureKey(failure)}`);
  }

  all(): FailureGroup[] {
    return [...this.groups.values()];
  }
}

/** `PROCESSOR_ERROR ×30 2021-11-01..30: first line` (no count for one day). */
export function groupLine(group: FailureGroup): string {
  const count = group.days.length > 1 ? ` ×${group.days.length}` : '';
  return `${group.category}${count} ${compactDays(group.days)}: ${withoutLabel(group.processor, firstLine(group.message))}`;
}

/** A message without the `P 2021-11-01..2021-11-03: ` it starts with (the line names both already). */
export function withoutLabel(processor: string, message: string): string {
  const label = `${processor} `;
  if (!message.startsWith(label)) return message;
  const rest = /^\d{4}-\d{2}-\d{2}(\.\.\d{4}-\d{2}-\d{2})?: /.exec(message.slice(label.length));
  return rest ? message.slice(label.length + rest[0].length) : message;
}

export function groupJson(group: FailureGroup): {
  processor: string;
  category: FailureCategory;
  count: number;
  dates: string[];
  line: string;
  message: string;
} {
  return {
    processor: group.processor,
    category: group.category,
    count: group.days.length,
    dates: group.days.map(formatDay),
    line: groupLine(group),
    message: group.message,
  };
}
