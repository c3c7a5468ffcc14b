/**
 * `_dag.batches`, folded from task events: one row per batch that reached a final status (the leaves
 * of splits: what was built or failed in the end), with its attempts and wall-clock times. Written
 * once, when the run ends, so batches never compete with the run for the target.
 */
import type { BatchRecord } from '../warehouse/port.js';
import type { TaskEvent } from './lifecycle.js';

interface Seen {
  attempts: number;
  startedAt?: number;
}

export class BatchRecorder {
  private readonly seen = new Map<number, Seen>();
  readonly batches: BatchRecord[] = [];

  constructor(private readonly runId: string) {}

  onEvent(event: TaskEvent): void {
    const { task, status, at } = event;
    let seen = this.seen.get(task.id);
    if (!seen) this.seen.set(task.id, (seen = { attempts: 0 }));
    const first = task.days[0];
    const last = task.days[task.days.length - 1];
    if (first === undefined || last === undefined) return;
    const base = { runId: this.runId, processor: task.processor.name, start: first, end: last, attempts: seen.attempts };
    const times = seen.startedAt !== undefined ? { startedAt: seen.startedAt, endedAt: at } : {};
    switch (status.status) {
      case 'running':
        seen.attempts += 1;
        seen.startedAt ??= at;
        return;
      case 'built': {
        let rows = 0;
        for (const n of status.rows.values()) rows += n;
        this.batches.push({ ...base, outcome: 'built', rows, ...times, ...(status.noOutput ? { category: status.noOutput.failure.category } : {}) });
        return;
      }
      case 'failed':
        this.batches.push({ ...base, outcome: 'failed', category: status.failure.category, ...times });
        return;
      case 'abandoned':
        this.batches.push({ ...base, outcome: 'abandoned', category: status.failure.category, ...times });
        return;
      case 'upstream-failed':
        this.batches.push({ ...base, outcome: 'upstream_failed', category: status.failure.category });
        return;
      case 'pending':
      case 'waiting-inputs':
      case 'queued':
      case 'committing':
      case 'split':
      case 'cancelled':
        return;
    }
  }
}
