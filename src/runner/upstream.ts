/**
 * A ready task's days, against what its inputs became: days whose inputs were all built run; a day
 * reading a failed partition is UPSTREAM_FAILED (naming the root failure), one reading a partition
 * that never started is cancelled with it.
 */
import { formatDay, type Day } from '../core/dates.js';
import type { PartitionKey } from './jobs.js';
import type { Task, TaskStatus } from './lifecycle.js';
import type { PartitionOutcome } from './types.js';

/** The task's days in runs: runnable (no status), or settled by a failed or cancelled input. */
export function partsAroundUpstream(task: Task, outcomes: ReadonlyMap<PartitionKey, PartitionOutcome>): { days: Day[]; status: TaskStatus | undefined }[] {
  const parts: { days: Day[]; status: TaskStatus | undefined; key: string }[] = [];
  for (const day of task.days) {
    const broken = (task.inputsByDay.get(day) ?? []).find((key) => outcomes.get(key)?.state !== 'built');
    const status = broken === undefined ? undefined : upstreamStatus(broken, outcomes);
    const key = status === undefined ? '' : status.status === 'upstream-failed' ? status.failure.message : status.status;
    const last = parts[parts.length - 1];
    if (last && last.key === key) last.days.push(day);
    else parts.push({ days: [day], status, key });
  }
  return parts;
}

/** What a day reading `broken` becomes: cancelled with it, or upstream-failed naming the root failure. */
function upstreamStatus(broken: PartitionKey, outcomes: ReadonlyMap<PartitionKey, PartitionOutcome>): TaskStatus {
  const outcome = outcomes.get(broken);
  const [processor, day] = broken.split('\u0000');
  const where = `${processor} ${formatDay(Number(day))}`;
  if (outcome?.state === 'cancelled') return { status: 'cancelled' };
  const message =
    outcome?.state === 'upstream-failed'
      ? `reads ${where}, which ${outcome.failure.message}`
      : outcome?.state === 'failed'
        ? `reads ${where}, which failed (${outcome.failure.category})`
        : `reads ${where}, which was not built`;
  return { status: 'upstream-failed', failure: { category: 'UPSTREAM_FAILED', message } };
}
