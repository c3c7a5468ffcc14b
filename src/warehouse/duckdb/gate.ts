/**
 * Shared/exclusive access to the open database. SQL work runs shared (many at once, on separate
 * connections); a command batch runs exclusive: it waits for running work, and new work waits for it,
 * because the command's own process must be the only one with the file open.
 */
export class ExclusiveGate {
  private running = 0;
  private idleWaiters: (() => void)[] = [];
  /** Settles when every exclusive section registered so far has finished. */
  private barrier: Promise<void> = Promise.resolve();

  async shared<T>(work: () => Promise<T>): Promise<T> {
    for (;;) {
      const barrier = this.barrier;
      await barrier;
      if (barrier === this.barrier) break;
    }
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
      if (this.running === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const previous = this.barrier;
    this.barrier = previous.then(() => mine);
    await previous;
    try {
      if (this.running > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      return await work();
    } finally {
      release();
    }
  }
}
