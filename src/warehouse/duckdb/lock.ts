/**
 * One writer per target: a lock file next to the database (`<file>.lock`) holding its owner as JSON.
 * It is created atomically with its full content (written to a private temp file, then hard-linked into
 * place, which fails if the lock exists). A lock whose owner process is dead on this host is moved aside
 * with rename (only one contender wins), checked to be the one judged dead, and then retaken.
 */
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LockOwner, LockResult } from '../port.js';
import { holderIsDeadHere } from '../shared.js';

const POLL_MS = 100;

export async function acquireFileLock(lockPath: string, owner: LockOwner, waitMs: number): Promise<LockResult> {
  const deadline = Date.now() + Math.max(0, waitMs);
  const content = JSON.stringify(owner);
  for (;;) {
    if (await createExclusively(lockPath, content)) return { ok: true };
    const holder = await readOwner(lockPath);
    if (holder === 'gone') continue;
    if (holder !== 'unreadable' && holderIsDeadHere(holder)) {
      await takeOver(lockPath, holder);
      continue;
    }
    if (Date.now() >= deadline) {
      if (holder === 'unreadable') return { ok: false, holder: { runId: 'unknown', pid: 0, host: 'unknown', since: 0, commandLine: `unreadable lock file ${lockPath}` } };
      return { ok: false, holder };
    }
    await sleep(Math.min(POLL_MS, Math.max(1, deadline - Date.now())));
  }
}

export async function releaseFileLock(lockPath: string, owner: LockOwner): Promise<void> {
  const holder = await readOwner(lockPath);
  if (holder === 'gone' || holder === 'unreadable' || holder.runId !== owner.runId || holder.pid !== owner.pid) return;
  await unlink(lockPath).catch(() => undefined);
}

async function createExclusively(lockPath: string, content: string): Promise<boolean> {
  const temp = `${lockPath}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
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

async function readOwner(lockPath: string): Promise<LockOwner | 'gone' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
  try {
    const owner = JSON.parse(text) as LockOwner;
    return typeof owner.pid === 'number' && typeof owner.host === 'string' ? owner : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

/** Moves a dead owner's lock aside; if another contender replaced it meanwhile, puts theirs back. */
async function takeOver(lockPath: string, dead: LockOwner): Promise<void> {
  const aside = `${lockPath}.${process.pid}.${Math.random().toString(36).slice(2)}.stale`;
  try {
    await rename(lockPath, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  // Compare owners, not bytes: a lock file written by hand (or by another version) may differ in
  // whitespace or key order, and putting the dead owner's lock back would spin this loop forever.
  const moved = await readOwner(aside).catch(() => 'unreadable' as const);
  const isTheDeadOne = moved === 'gone' || (moved !== 'unreadable' && sameOwner(moved, dead));
  if (!isTheDeadOne) await link(aside, lockPath).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

function sameOwner(a: LockOwner, b: LockOwner): boolean {
  return a.runId === b.runId && a.pid === b.pid && a.host === b.host && a.since === b.since;
}
