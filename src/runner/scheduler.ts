/**
 * The ready queue: starts ready tasks in plan order (topological rank, then date, so upstream work is
 * never starved), up to the global concurrency and each processor's cap. A generic pool with small
 * policies, after SQLMesh's concurrent_apply_to_dag; what a task does is the caller's (`start`).
 */
import type { Task } from './lifecycle.js';

export class ReadyQueue {
  private readonly ready: Task[] = [];
  private running = 0;
  private readonly perProcessor = new Map<string, number>();

  constructor(
    private readonly concurrency: number,
    /** Tasks of this processor that may run at once, now (it may change: call pump). */
    private readonly capOf: (processor: string) => number,
    /** Runs a task; its slot is free again when the promise settles. */
    private readonly start: (task: Task) => Promise<void>,
    /** Whether nothing new may start (the run is cancelled). */
    private readonly stopped: () => boolean,
    /** Called whenever a task ended and nothing is left to start. */
    private readonly onIdle: () => void,
  ) {}

  push(task: Task): void {
    let at = this.ready.length;
    while (at > 0 && (this.ready[at - 1]?.index ?? 0) > task.index) at -= 1;
    this.ready.splice(at, 0, task);
    this.pump();
  }

  /** Takes tasks out before they started (a processor failed as a whole, the run was cancelled). */
  remove(which: (task: Task) => boolean): Task[] {
    const removed: Task[] = [];
    for (let i = this.ready.length - 1; i >= 0; i--) {
      const task = this.ready[i];
      if (task && which(task)) removed.unshift(...this.ready.splice(i, 1));
    }
    return removed;
  }

  get busy(): boolean {
    return this.running > 0 || this.ready.length > 0;
  }

  pump(): void {
    while (this.running < this.concurrency && !this.stopped()) {
      const index = this.ready.findIndex((task) => (this.perProcessor.get(task.processor.name) ?? 0) < this.capOf(task.processor.name));
      if (index < 0) break;
      const [task] = this.ready.splice(index, 1);
      if (!task) break;
      const name = task.processor.name;
      this.running += 1;
      this.perProcessor.set(name, (this.perProcessor.get(name) ?? 0) + 1);
      void this.start(task).finally(() => {
        this.running -= 1;
        this.perProcessor.set(name, (this.perProcessor.get(name) ?? 1) - 1);
        this.pump();
        if (!this.busy || this.stopped()) this.onIdle();
      });
    }
  }
}
