/**
 * Command batches' log files of a run, as the runner wrote them (`.dag/logs/<run>/<processor>/<start>_<end>.log`
 * beside pipeline.yaml; runner/spawn.ts). They are files on the machine that ran the command: the
 * ledger does not keep them, so `dag runs` and `dag explain` look on disk and say nothing when absent.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseIsoDate, type Day } from '../core/dates.js';
import type { Pipeline } from '../core/model.js';

export interface RunLog {
  readonly processor: string;
  readonly start: Day;
  readonly end: Day;
  /** Relative to the working directory when below it. */
  readonly path: string;
}

export function logRootOf(pipeline: Pipeline): string {
  return join(dirname(pipeline.file), '.dag', 'logs');
}

/** A path as a user types it from `cwd`. */
export function shownPath(cwd: string, path: string): string {
  const shown = relative(cwd, path);
  return shown === '' || shown.startsWith('..') ? path : shown;
}

const NAME = /^(\d{4}-\d{2}-\d{2})_(\d{4}-\d{2}-\d{2})\.log$/;

/** Every log file of the run (a split batch's parent attempts included), by processor then start date. */
export function runLogs(logRoot: string, runId: string, cwd: string): RunLog[] {
  const folder = join(logRoot, runId);
  if (!/^[\w.:-]+$/.test(runId) || !existsSync(folder)) return [];
  const logs: RunLog[] = [];
  for (const processor of readdirSync(folder, { withFileTypes: true })) {
    if (!processor.isDirectory()) continue;
    for (const file of readdirSync(join(folder, processor.name))) {
      const match = NAME.exec(file);
      const start = match ? parseIsoDate(match[1] ?? '') : undefined;
      const end = match ? parseIsoDate(match[2] ?? '') : undefined;
      if (start === undefined || end === undefined) continue;
      logs.push({ processor: processor.name, start, end, path: shownPath(cwd, join(folder, processor.name, file)) });
    }
  }
  return logs.sort((a, b) => (a.processor < b.processor ? -1 : a.processor > b.processor ? 1 : a.start - b.start || a.end - b.end));
}

/** The log of the narrowest batch of `processor` in the run that covers `day` (the last split half that ran it). */
export function logCovering(logs: readonly RunLog[], processor: string, day: Day): RunLog | undefined {
  let best: RunLog | undefined;
  for (const log of logs)
    if (log.processor === processor && log.start <= day && day <= log.end && (!best || log.end - log.start < best.end - best.start)) best = log;
  return best;
}
