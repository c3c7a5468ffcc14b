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
