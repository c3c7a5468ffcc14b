/**
 * The clock the runner stamps ledger rows with. `builtAt` must be strictly after every input's
 * builtAt/changedAt (the planner compares them make-style), so each call returns more than the last
 * call and more than the floor it is given, even when the wall clock stalls or steps back.
 */
export interface WallClock {
  /** Epoch milliseconds. */
  now(): number;
}

export interface BuildClock {
  /** Wall time, never less than anything handed out before; > floor when a floor is given. */
  next(floor?: number): number;
  /** Plain wall time for elapsed-time displays (may step; never used for the ledger). */
  wall(): number;
}

export const systemClock: WallClock = { now: () => Date.now() };

export function createBuildClock(clock: WallClock): BuildClock {
  let last = -Infinity;
  return {
    next(floor = -Infinity) {
      const candidate = Math.max(clock.now(), last + 1, Number.isFinite(floor) ? floor + 1 : -Infinity);
      last = candidate;
      return candidate;
    },
    wall: () => clock.now(),
  };
}

/**
 * The clock timeouts, grace periods and backoff run on. Injected (RunnerOptions.timers) so lifecycle
 * tests drive them by hand instead of waiting.
 */
export interface Timers {
  now(): number;
  /** Calls `fn` once after `ms`; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void;
}

export const systemTimers: Timers = {
  now: () => Date.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

/** Resolves after `ms` on `timers`, or at once when `signal` aborts. */
export function sleep(timers: Timers, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      cancel();
      signal.removeEventListener('abort', done);
      resolve();
    };
    const cancel = timers.after(ms, done);
    signal.addEventListener('abort', done, { once: true });
  });
}
