import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LockOwner } from '../src/warehouse/port.js';
import { acquireFileLock } from '../src/warehouse/duckdb/lock.js';
import { tempProject } from './support/cli.js';

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

/** A guard against the old endless takeover loop (not a speed assertion): fail instead of hanging. */
function withinTenSeconds<T>(work: Promise<T>): Promise<T | 'still spinning after 10 s'> {
  return Promise.race([work, new Promise<'still spinning after 10 s'>((done) => setTimeout(() => done('still spinning after 10 s'), 10_000).unref())]);
}

const me: LockOwner = { runId: 'me', pid: process.pid, host: hostname(), since: Date.now(), commandLine: 'run --range 2021-11-01' };

describe('the DuckDB lock file left by a dead process', () => {
  // Before the fix the takeover compared raw bytes with JSON.stringify of the parsed owner, so a lock
  // file with a trailing newline or indentation was put back again and again: dag run spun forever.
  it('is taken over even when written by hand (indented, trailing newline)', { timeout: 30_000 }, async () => {
    const lockPath = join(tempProject(), 'w.duckdb.lock');
    const ghost = { runId: 'ghost', pid: deadPid(), host: hostname(), since: 1638273901000, commandLine: 'run --range x' };
    writeFileSync(lockPath, `${JSON.stringify(ghost, null, 2)}\n`);
    expect(await withinTenSeconds(acquireFileLock(lockPath, me, 0))).toEqual({ ok: true });
    expect((JSON.parse(readFileSync(lockPath, 'utf8')) as LockOwner).runId).toBe('me');
  });

  it('is respected when its owner is alive, whatever its formatting', async () => {
    const lockPath = join(tempProject(), 'w.duckdb.lock');
    const live = { commandLine: 'run', since: 1, host: hostname(), pid: process.pid, runId: 'live' };
    writeFileSync(lockPath, `${JSON.stringify(live, null, 2)}\n`);
    const result = await withinTenSeconds(acquireFileLock(lockPath, { ...me, runId: 'other' }, 0));
    expect(typeof result === 'object' && !result.ok && result.holder.runId).toBe('live');
  });
});
