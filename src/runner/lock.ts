/**
 * One writer per target. The lock is taken before the snapshot is read, so the plan a run builds
 * cannot be invalidated by another run writing in between; it is released however the run ends.
 */
import { UNIT_MS } from '../core/dates.js';
import { WarehouseError, type LockOwner, type Warehouse } from '../warehouse/port.js';
import { formatMs } from './attempt.js';

export async function acquireRunLock(warehouse: Warehouse, owner: LockOwner, waitMs: number): Promise<void> {
  const result = await warehouse.acquireLock(owner, waitMs);
  if (result.ok) return;
  const holder = result.holder;
  const since = new Date(holder.since).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const waited = waitMs > 0 ? ` (waited ${formatMs(waitMs)})` : '';
  if (result.orphans)
    throw new WarehouseError(
      'locked',
      `target ${warehouse.targetName} was locked by dag run ${holder.runId} (pid ${holder.pid}), which is gone, but its command's process group ${result.orphans.join(', ')} survived SIGKILL${waited}`,
      `end it (kill -KILL -- -${result.orphans[0]}) or wait for it, then run again`,
    );
  throw new WarehouseError(
    'locked',
    `target ${warehouse.targetName} is locked by dag run ${holder.runId} (pid ${holder.pid} on ${holder.host}) since ${since}${waited}; wait or pass --wait 5m`,
    holder.commandLine ? `the other run is: dag ${holder.commandLine}` : undefined,
  );
}

/**
 * Parses `--wait`: `0`, `30s`, `5m`, `1h`, `250ms`, or a bare number of seconds. Laxer than
 * pipeline.yaml durations (decimals, no unit, surrounding spaces), with the same units.
 */
export function parseWaitDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) return undefined;
  const unit = (match[2] ?? 's') as keyof typeof UNIT_MS;
  return Math.round(Number(match[1]) * UNIT_MS[unit]);
}
