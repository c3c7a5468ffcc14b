/**
 * One writer per target: a lock file next to the database (`<file>.lock`) holding its owner as JSON:
 * run id, pid and the process's start time, host, and the process groups of the commands it runs now.
 * It is created atomically with its full content (written to a private temp file, then hard-linked into
 * place, which fails if the lock exists) and rewritten by rename, so it is never seen half-written.
 *
 * A lock whose owner is dead on this host (no such process, or its pid reused by a process with another
 * start time) is taken over: first its command groups still alive are ended (SIGTERM, then SIGKILL),
 * so a killed run's command never writes beside the new run; then the lock is moved aside with rename
 * (only one contender wins), checked to be the one judged dead, and retaken.
 */
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WarehouseError, type LockOwner, type LockResult, type ProcessGroup } from '../port.js';
import { endOrphanGroups, ownerIsDead } from '../process.js';

const POLL_MS = 100;
/** Between SIGTERM and SIGKILL for an orphaned command's group. */
const ORPHAN_GRACE_MS = 1000;

type ReadLock = LockOwner | 'gone' | { readonly unreadable: string };

export async function acquireFileLock(lockPath: string, owner: LockOwner, waitMs: number): Promise<LockResult> {
  const deadline = Date.now() + Math.max(0, waitMs);
  const content = JSON.stringify(owner);
  for (;;) {
    if (await createExclusively(lockPath, content)) return { ok: true };
    const holder = await readOwner(lockPath);
    if (holder === 'gone') continue;
    if ('unreadable' in holder) throw unreadableLock(lockPath, holder.unreadable);
    let orphans: number[] = [];
    if (ownerIsDead(holder)) {
      orphans = await endOrphanGroups(holder.groups ?? [], ORPHAN_GRACE_MS);
      if (orphans.length === 0) {
        await takeOver(lockPath, holder);
        continue;
      }
    }
    if (Date.now() >= deadline) return orphans.length > 0 ? { ok: false, holder, orphans } : { ok: false, holder };
    await sleep(Math.min(POLL_MS, Math.max(1, deadline - Date.now())));
  }
}

export async function releaseFileLock(lockPath: string, owner: LockOwner): Promise<void> {
  const holder = await readOwner(lockPath).catch(() => 'gone' as const);
  if (holder === 'gone' || 'unreadable' in holder || !isOwner(holder, owner)) return;
  await unlink(lockPath).catch(() => undefined);
}

/** Rewrites our lock with the command groups running now (atomically: temp file, then rename). */
export async function recordLockGroups(lockPath: string, owner: LockOwner, groups: readonly ProcessGroup[]): Promise<void> {
  const holder = await readOwner(lockPath);
  if (holder === 'gone' || 'unreadable' in holder || !isOwner(holder, owner)) return;
  const temp = tempName(lockPath, 'tmp');
  await writeFile(temp, JSON.stringify({ ...owner, groups }), { flag: 'wx' });
  await rename(temp, lockPath).catch(async (error: unknown) => {
    await unlink(temp).catch(() => undefined);
    throw error;
  });
}

function unreadableLock(lockPath: string, why: string): WarehouseError {
  return new WarehouseError(
    'lock-unreadable',
    `the lock file ${lockPath} ${why}; dag never writes a lock like that, so it was left by something else or damaged`,
    `if no dag run is using this target (check with ps), remove it: rm ${lockPath}`,
  );
}

function tempName(lockPath: string, suffix: string): string {
  return `${lockPath}.${process.pid}.${Math.random().toString(36).slice(2)}.${suffix}`;
}

async function createExclusively(lockPath: string, content: string): Promise<boolean> {
  const temp = tempName(lockPath, 'tmp');
  // The lock is taken before the database file is opened, so its folder (.dag/) may not exist yet.
  await mkdir(dirname(lockPath), { recursive: true });
  await writeFile(temp, content, { flag: 'wx' });
  try {
    await link(temp, lockPath);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

async function readOwner(lockPath: string): Promise<ReadLock> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'gone';
    return { unreadable: `cannot be read (${code ?? (error as Error).message})` };
  }
  if (text.trim() === '') return { unreadable: 'is empty' };
  try {
    const owner = JSON.parse(text) as LockOwner;
    if (typeof owner === 'object' && owner !== null && typeof owner.pid === 'number' && typeof owner.host === 'string') return owner;
    return { unreadable: 'does not name a dag run' };
  } catch {
    return { unreadable: 'is not JSON' };
  }
}

/** Moves a dead owner's lock aside; if another contender replaced it meanwhile, puts theirs back. */
async function takeOver(lockPath: string, dead: LockOwner): Promise<void> {
  const aside = tempName(lockPath, 'stale');
  try {
    await rename(lockPath, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  // Compare owners, not bytes: a lock file written by hand (or by another version) may differ in
  // whitespace or key order, and putting the dead owner's lock back would spin this loop forever.
  const moved = await readOwner(aside).catch(() => 'gone' as const);
  const isTheDeadOne = moved === 'gone' || (!('unreadable' in moved) && sameOwner(moved, dead));
  if (!isTheDeadOne) await link(aside, lockPath).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

function isOwner(holder: LockOwner, owner: LockOwner): boolean {
  return holder.runId === owner.runId && holder.pid === owner.pid;
}

function sameOwner(a: LockOwner, b: LockOwner): boolean {
  return a.runId === b.runId && a.pid === b.pid && a.host === b.host && a.since === b.since;
}
