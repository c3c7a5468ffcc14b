/**
 * `_dag.failures`, written from task events: a row per partition for every failed attempt (retried,
 * split or final), every partition a processor-wide failure or an upstream failure settles, and every
 * day a command left absent. Writes go one at a time, in event order, off the runner's path (a command
 * holding the DuckDB file exclusively must not wait for them); `flush` awaits them at the end. Rows
 * that pile up while a write is under way go together in the next one: a failed batch of 31 days is
 * one statement (on BigQuery one job), not 31.
 */
import type { Processor } from '../core/model.js';
import type { FailureRecord, JobFailure, Warehouse } from '../warehouse/port.js';
import { firstLine } from '../warehouse/shared.js';
import { partitionKey, type PartitionKey } from './jobs.js';
import type { TaskEvent } from './lifecycle.js';

export class FailureRecorder {
  private readonly attempts = new Map<PartitionKey, number>();
  /** Per task, the failure last written for it. */
  private readonly written = new Map<number, JobFailure>();
  private chain: Promise<void> = Promise.resolve();
  /** Rows not handed to the warehouse yet; a write is scheduled on the chain while there are any. */
  private queued: FailureRecord[] = [];

  constructor(
    private readonly warehouse: Warehouse,
    private readonly runId: string,
    private readonly wallNow: () => number,
    private readonly warn: (message: string) => void,
  ) {}

  onEvent(event: TaskEvent): void {
    const { task, status } = event;
    switch (status.status) {
      case 'queued':
        if (status.retry) this.write(task.id, task.processor, task.days, status.retry.after);
        return;
      case 'pending':
        if (status.after) this.write(task.id, task.processor, task.days, status.after);
        return;
      case 'split':
      case 'failed':
      case 'abandoned':
      case 'upstream-failed':
        // A half that awaited its other half recorded its failure then: deciding it writes nothing new.
        if (status.failure && this.written.get(task.id) !== status.failure) this.write(task.id, task.processor, task.days, status.failure);
        return;
      case 'built':
        if (status.noOutput) this.write(task.id, task.processor, status.noOutput.days, status.noOutput.failure);
        for (const { day, failure } of status.rejected ?? []) this.write(task.id, task.processor, [day], failure);
        return;
      case 'waiting-inputs':
      case 'running':
      case 'committing':
      case 'cancelled':
        return;
    }
  }

  /** Settles when every row so far is written (or warned about). */
  flush(): Promise<void> {
    return this.chain;
  }

  private write(taskId: number, processor: Processor, days: readonly number[], failure: JobFailure): void {
    this.written.set(taskId, failure);
    const at = this.wallNow();
    for (const day of days) {
      const key = partitionKey(processor.name, day);
      const attempt = (this.attempts.get(key) ?? 0) + 1;
      this.attempts.set(key, attempt);
      this.queued.push({ runId: this.runId, processor: processor.name, day, category: failure.category, message: failure.message, attempt, at });
    }
    if (this.queued.length !== days.length) return; // a write is scheduled already and takes these too
    this.chain = this.chain.then(() => {
      const rows = this.queued;
      this.queued = [];
      const what = rows.length === 1 ? 'a failure' : `${rows.length} failures`;
      return this.warehouse.recordFailures(rows).catch((error: unknown) => this.warn(`could not record ${what} in the ledger: ${firstLine(error)}`));
    });
  }
}
