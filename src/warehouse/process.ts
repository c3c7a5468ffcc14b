/**
 * Processes and process groups on this host, for locks and commands: a process's start time (so a
 * reused pid is never taken for a lock's owner, nor a reused group id for an orphan), and ending a
 * command's whole process group (SIGTERM, then SIGKILL).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { LockOwner, ProcessGroup } from './port.js';

/**
 * Field 22 of /proc/PID/stat (starttime, clock ticks since boot): with the pid, it names one process
 * for as long as the machine runs. Undefined where there is no /proc (not Linux) or no such process.
 */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

/** Whether pid is a live process (another user's counts: EPERM means it exists). */
function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Whether a lock holder is known to be dead. Only a process on this host can be judged; a holder on
 * another host is always respected. Dead: no such process, or a process with another start time (the
 * pid was reused after the owner died).
 */
export function ownerIsDead(owner: Pick<LockOwner, 'host' | 'pid' | 'processStart'>): boolean {
  if (owner.host !== hostname()) return false;
  if (!exists(owner.pid)) return true;
  if (owner.processStart === undefined) return false;
  const now = processStartTime(owner.pid);
  return now !== undefined && now !== owner.processStart;
}

export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether `group` is still the recorded group: its leader runs with the recorded start time, or the
 * leader is gone but members remain (Linux never hands out a pid still in use as a group id).
 */
export function isSameGroup(group: ProcessGroup): boolean {
  if (!groupAlive(group.pgid)) return false;
  const leader = processStartTime(group.pgid);
  return leader === undefined || group.start === undefined || leader === group.start;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

async function waitGone(pgid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!groupAlive(pgid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return !groupAlive(pgid);
}

/**
 * SIGTERM to the whole group, SIGKILL after `graceMs` if any member is left; resolves true once it is
 * gone, false if something survived a SIGKILL for `killWaitMs` (a process stuck in the kernel).
 */
export async function stopGroup(pgid: number, graceMs: number, killWaitMs = 1000): Promise<boolean> {
  if (!groupAlive(pgid)) return true;
  signalGroup(pgid, 'SIGTERM');
  if (await waitGone(pgid, graceMs)) return true;
  signalGroup(pgid, 'SIGKILL');
  return waitGone(pgid, killWaitMs);
}

/** SIGKILL at once (a second Ctrl-C: no time to wait). */
export function killGroupNow(pgid: number): void {
  signalGroup(pgid, 'SIGKILL');
}

/** Ends a dead lock owner's command groups (only those still its own); the ids of groups that survived. */
export async function endOrphanGroups(groups: readonly ProcessGroup[], graceMs: number): Promise<number[]> {
  const survivors: number[] = [];
  await Promise.all(
    groups.map(async (group) => {
      if (!isSameGroup(group)) return;
      if (!(await stopGroup(group.pgid, graceMs))) survivors.push(group.pgid);
    }),
  );
  return survivors;
}
