/**
 * What happened to each partition, folded from task events: the one record the scheduler (readiness,
 * upstream failures), the result and so the summary, `--json` and webhooks all read. A final task
 * status settles its days; a split hands them to its children.
 */
import type { Day } from '../core/dates.js';
import type { JobFailure } from '../warehouse/port.js';
import { partitionKey, type PartitionKey } from './jobs.js';
import type { TaskEvent } from './lifecycle.js';
import type { PartitionOutcome } from './types.js';

const NO_OUTCOME: JobFailure = { category: 'NO_OUTPUT', message: 'the warehouse reported no outcome for this partition' };

/** The partitions an event settles, with their outcomes (none unless the task reached a final status). */
export function outcomesOf(event: TaskEvent): [Day, PartitionOutcome][] {
  const { task, status } = event;
  const all = (outcome: PartitionOutcome): [Day, PartitionOutcome][] => task.days.map((day) => [day, outcome]);
  switch (status.status) {
    case 'built': {
      const absent = new Set(status.noOutput?.days ?? []);
      const rejected = new Map((status.rejected ?? []).map((r) => [r.day, r.failure]));
      return task.days.map((day) => {
        const checkFailure = rejected.get(day);
        if (checkFailure) return [day, { state: 'failed', failure: checkFailure }];
        const rows = status.rows.get(day);
        if (rows !== undefined && !absent.has(day)) return [day, { state: 'built', rows, builtAt: status.builtAt }];
        return [day, { state: 'failed', failure: (absent.has(day) ? status.noOutput?.failure : undefined) ?? NO_OUTCOME }];
      });
    }
    case 'failed':
    case 'abandoned':
      return all({ state: 'failed', failure: status.failure });
    case 'upstream-failed':
      return all({ state: 'upstream-failed', failure: status.failure });
    case 'cancelled':
      return all({ state: 'cancelled' });
    case 'pending':
    case 'waiting-inputs':
    case 'queued':
    case 'running':
    case 'committing':
    case 'split':
      return [];
  }
}

export class PartitionBook {
  readonly outcomes = new Map<PartitionKey, PartitionOutcome>();
  /** Warehouse jobs started (a task's every attempt). */
  jobs = 0;
  abandoned = 0;

  /** `onSettled` hears each partition once, as it reaches its final state. */
  constructor(private readonly onSettled: (key: PartitionKey, outcome: PartitionOutcome) => void = () => {}) {}

  onEvent(event: TaskEvent): void {
    if (event.status.status === 'running') this.jobs += 1;
    if (event.status.status === 'abandoned') this.abandoned += 1;
    for (const [day, outcome] of outcomesOf(event)) {
      const key = partitionKey(event.task.processor.name, day);
      if (this.outcomes.has(key)) continue;
      this.outcomes.set(key, outcome);
      this.onSettled(key, outcome);
    }
  }
}
