/**
 * Shared/exclusive access to the open database. SQL work runs shared (many at once, on separate
 * connections); a command batch runs exclusive: it waits for running work, and new work waits for it,
 * because the command's own process must be the only one with the file open.
 *
 * A hold can be abandoned (its job did not stop within its grace period): nothing waits for it any
 * more, and since its connection may still be busy in the file, no exclusive hold is granted after it.
 */
export interface GateHold {
  release(): void;
  abandon(): void;
}

export class ExclusiveGate {
  private running = 0;
  private idleWaiters: (() => void)[] = [];
  /** Settles when every exclusive section registered so far has finished. */
  private barrier: Promise<void> = Promise.resolve();
  /** Holds abandoned so far: their connections may still be in the file. */
  abandoned = 0;

  async acquireShared(): Promise<GateHold> {
    for (;;) {
      const barrier = this.barrier;
      await barrier;
      if (barrier === this.barrier) break;
    }
    this.running++;
    return this.hold(() => {
      this.running--;
      if (this.running === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    });
  }

  /** Undefined when a hold was abandoned: the file can no longer be had alone in this process. */
  async acquireExclusive(): Promise<GateHold | undefined> {
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const previous = this.barrier;
    this.barrier = previous.then(() => mine);
    await previous;
    if (this.running > 0 && this.abandoned === 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    if (this.abandoned > 0) {
      release();
      return undefined;
    }
    return this.hold(release);
  }

  async shared<T>(work: () => Promise<T>): Promise<T> {
    const hold = await this.acquireShared();
    try {
      return await work();
    } finally {
      hold.release();
    }
  }

  /** Runs `work` alone; `abandonedWork` instead when a hold was abandoned (closing then must not wait). */
  async exclusive<T>(work: () => Promise<T>, abandonedWork: () => Promise<T>): Promise<T> {
    const hold = await this.acquireExclusive();
    if (!hold) return abandonedWork();
    try {
      return await work();
    } finally {
      hold.release();
    }
  }

  private hold(letGo: () => void): GateHold {
    let held = true;
    const end = (): void => {
      if (!held) return;
      held = false;
      letGo();
    };
    return {
      release: end,
      abandon: () => {
        if (!held) return;
        this.abandoned++;
        end();
        // An exclusive section waiting for running work to end would wait for this one forever.
        for (const wake of this.idleWaiters.splice(0)) wake();
      },
    };
  }
}
