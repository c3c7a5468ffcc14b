/**
 * One writer per target. The lock is taken before the snapshot is read, so the plan a run builds
 * cannot be invalidated by another run writing in between; it is released however the run ends.
 */
import { UserError } from '../core/diagnostics.js';
import type { LockOwner, Warehouse } from '../warehouse/port.js';
import { formatMs } from './attempt.js';

export async function acquireRunLock(warehouse: Warehouse, owner: LockOwner, waitMs: number): Promise<void> {
  const result = await warehouse.acquireLock(owner, waitMs);
  if (result.ok) return;
  const holder = result.holder;
  const since = new Date(holder.since).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const waited = waitMs > 0 ? ` (waited ${formatMs(waitMs)})` : '';
  throw new UserError(
    `target ${warehouse.targetName} is locked by dag run ${holder.runId} (pid ${holder.pid} on ${holder.host}) since ${since}${waited}; wait or pass --wait 5m`,
    2,
    holder.commandLine ? `the other run is: dag ${holder.commandLine}` : undefined,
  );
}

/** Parses `--wait`: `0`, `30s`, `5m`, `1h`, `250ms`, or a bare number of seconds. */
export function parseWaitDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Math.round(value * factor);
}
