/**
 * Runs a command processor's process for one batch: argv without a shell, `{start}` `{end}` `{target}`
 * substituted, DAG_* variables plus the adapter's connection settings in env, output to
 * `.dag/logs/<run>/<processor>/<start>_<end>.log`. The process gets its own process group
 * (`detached: true`) so a timeout or Ctrl-C can stop it and everything it forked: SIGTERM to the
 * group, SIGKILL after a grace period. Background processes left when the command exits are stopped
 * the same way, so nothing keeps writing to a table dag believes finished. The group is reported
 * (onGroup) while it lives, for the run's lock.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { formatDay, type Day } from '../core/dates.js';
import type { BatchJob, JobFailure, ProcessGroup } from '../warehouse/port.js';
import { killGroupNow, processStartTime, stopGroup } from '../warehouse/process.js';
import type { CommandRunner } from './types.js';

export interface SpawnSettings {
  /** The environment dag itself was started with (read by the CLI, passed in). */
  readonly baseEnv: Readonly<Record<string, string | undefined>>;
  /** Folder that holds `<run>/<processor>/<start>_<end>.log` (normally `.dag/logs` beside pipeline.yaml). */
  readonly logRoot: string;
  readonly targetName: string;
  /** Between SIGTERM and SIGKILL; 1 s by default. */
  readonly killGraceMs?: number;
  /** Lines of the log shown in a failure message. */
  readonly tailLines?: number;
}

export function logFileFor(logRoot: string, job: Pick<BatchJob, 'runId' | 'processor' | 'batch'>): string {
  return logFileOf(logRoot, job.runId, job.processor.name, job.batch.start, job.batch.end);
}

/** `<logRoot>/<run>/<processor>/<start>_<end>.log`: where a command batch's output goes (`dag runs` finds it there). */
export function logFileOf(logRoot: string, runId: string, processor: string, start: Day, end: Day): string {
  return join(logRoot, runId, processor, `${formatDay(start)}_${formatDay(end)}.log`);
}

export function substituteArgv(argv: readonly string[], start: string, end: string, target: string): string[] {
  return argv.map((arg) => arg.replaceAll('{start}', start).replaceAll('{end}', end).replaceAll('{target}', target));
}

/** The DAG_* variables a command batch gets (the adapter adds its connection settings); `dag render` shows them. */
export function dagVariables(job: Pick<BatchJob, 'runId' | 'processor' | 'batch'>, targetName: string): Record<string, string> {
  return {
    DAG_START_DATE: formatDay(job.batch.start),
    DAG_END_DATE: formatDay(job.batch.end),
    DAG_RUN_ID: job.runId,
    DAG_PROCESSOR: job.processor.name,
    DAG_TARGET: targetName,
  };
}

/** Runs commands; `killAll` ends every group still running at once (a second Ctrl-C: no time to wait). */
export interface CommandSpawner {
  readonly run: CommandRunner;
  killAll(): void;
}

export function createCommandSpawner(settings: SpawnSettings): CommandSpawner {
  const running = new Set<number>();
  return {
    run: (job, env, signal, onGroup) =>
      runCommand(settings, job, env, signal, (group, alive) => {
        if (alive) running.add(group.pgid);
        else running.delete(group.pgid);
        onGroup(group, alive);
      }),
    killAll: () => running.forEach(killGroupNow),
  };
}

function runCommand(
  settings: SpawnSettings,
  job: BatchJob,
  adapterEnv: Readonly<Record<string, string>>,
  signal: AbortSignal,
  onGroup: (group: ProcessGroup, running: boolean) => void,
): Promise<JobFailure | undefined> {
  const action = job.processor.action;
  if (action.kind !== 'command') throw new Error(`${job.processor.name} is not a command processor`);
  const start = formatDay(job.batch.start);
  const end = formatDay(job.batch.end);
  const argv = substituteArgv(action.argv, start, end, settings.targetName);
  const logFile = logFileFor(settings.logRoot, job);
  mkdirSync(dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  writeSync(fd, `# dag ${job.runId}: ${argv.join(' ')} (${new Date(job.builtAt).toISOString()})\n`);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings.baseEnv)) if (value !== undefined) env[name] = value;
  Object.assign(env, dagVariables(job, settings.targetName), adapterEnv);
  const grace = settings.killGraceMs ?? 1000;
  const shownLog = relative(dirname(job.pipeline.file), logFile);

  return new Promise((resolve) => {
    if (signal.aborted) {
      closeSync(fd);
      return resolve({ category: 'CANCELLED', message: 'not started: cancelled' });
    }
    const [program = '', ...args] = argv;
    const child = spawn(program, args, { cwd: dirname(job.pipeline.file), env, detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const group: ProcessGroup | undefined = child.pid === undefined ? undefined : { pgid: child.pid, start: processStartTime(child.pid) };
    if (group) onGroup(group, true);
    let stopping = false;
    const stop = () => {
      stopping = true;
      if (child.pid !== undefined) void stopGroup(child.pid, grace);
    };
    signal.addEventListener('abort', stop, { once: true });
    child.once('error', (error: NodeJS.ErrnoException) => {
      signal.removeEventListener('abort', stop);
      const why = error.code === 'ENOENT' ? 'not found on PATH' : error.message;
      // No run of this command can start: the processor fails once (data-independent).
      resolve({ category: 'PROCESSOR_ERROR', message: `could not start \`${program}\`: ${why}`, dataIndependent: true });
    });
    child.once('exit', (code, killedBy) => {
      signal.removeEventListener('abort', stop);
      const pid = child.pid;
      // Whatever the command forked and left behind goes too (and a timeout waits for the group to die).
      const cleanup = pid === undefined ? Promise.resolve(true) : stopGroup(pid, grace);
      void cleanup.then(() => {
        if (group) onGroup(group, false);
        if (stopping) return resolve({ category: 'CANCELLED', message: `stopped: its process group was killed (log: ${shownLog})` });
        if (code === 0) return resolve(undefined);
        const how = code !== null ? `exited with code ${code}` : `was killed by ${killedBy ?? 'a signal'}`;
        resolve({ category: 'PROCESSOR_ERROR', message: `\`${argv.join(' ')}\` ${how} (log: ${shownLog})${tailOf(logFile, settings.tailLines ?? 10)}` });
      });
    });
  });
}

function tailOf(file: string, lines: number): string {
  try {
    const text = readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.length > 0 && !line.startsWith('# dag '));
    const tail = text.slice(-lines);
    return tail.length === 0 ? '; it printed nothing' : `; last lines:\n${tail.map((line) => `  | ${line}`).join('\n')}`;
  } catch {
    return '';
  }
}
