/**
 * What `dag run` shows while it works, folded from the runner's task events. On a terminal, a live
 * view redrawn in place: one line per processor with settled/total partitions, running jobs, failures
 * and an ETA, and one line per distinct failure. Elsewhere (CI logs, pipes), one line per finished
 * batch, so logs stay greppable and never fill with escape codes.
 */
import { MultiBar, type SingleBar } from 'cli-progress';
import { outcomesOf } from '../runner/book.js';
import type { TaskEvent } from '../runner/lifecycle.js';
import type { RunEvent } from '../runner/types.js';
import type { FailureCategory } from '../warehouse/port.js';
import { firstLine } from '../warehouse/shared.js';
import { FailureGroups, groupLine, withoutLabel, type FailureGroup } from './failure-groups.js';
import { dayRangeText } from './ranges.js';

export interface ProgressView {
  onEvent(event: RunEvent): void;
  /** Draws the final state and stops redrawing. */
  finish(): void;
}

export interface ProgressOptions {
  readonly write: (text: string) => void;
  readonly now: () => number;
  readonly color: boolean;
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : ms < 120_000 ? `${Math.round(ms / 1000)}s` : `${Math.floor(ms / 60_000)}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

/** A failure's headline: its first line, without the '; last lines:' that leads into the log tail (the summary shows it). */
function headline(message: string): string {
  return firstLine(message).replace(/; last lines:$/, '');
}

const paint = (on: boolean, code: number) => (text: string) => (on ? `\u001b[${code}m${text}\u001b[0m` : text);

/** `P 2021-11-01..2021-11-03`: how a task is named in progress lines. */
function taskLabel(event: TaskEvent): string {
  const { days, processor } = event.task;
  return `${processor.name} ${dayRangeText(days[0] ?? 0, days[days.length - 1] ?? 0)}`;
}

/**
 * One line per finished batch, retry, split and warning. A failure identical to one already shown
 * (same processor, category and first line) is not repeated: the summary lists it with all its dates.
 */
export function lineProgress(options: ProgressOptions): ProgressView {
  const green = paint(options.color, 32);
  const red = paint(options.color, 31);
  const yellow = paint(options.color, 33);
  const startedAt = new Map<number, number>();
  const attempts = new Map<number, number>();
  const shown = new FailureGroups();
  const failedLine = (event: TaskEvent, word: string, failure: { category: FailureCategory; message: string }): void => {
    const processor = event.task.processor.name;
    const first = !shown.has(processor, failure);
    for (const day of event.task.days) shown.add(processor, day, failure);
    if (first) options.write(`${red(word)} ${taskLabel(event)} ${failure.category}: ${withoutLabel(processor, headline(failure.message))}\n`);
  };
  return {
    onEvent(event) {
      if (event.kind === 'warning') return options.write(`${yellow('warning')}: ${event.message}\n`);
      if (event.kind !== 'task') return;
      const { status } = event;
      switch (status.status) {
        case 'running':
          if (!startedAt.has(event.task.id)) startedAt.set(event.task.id, event.at);
          attempts.set(event.task.id, status.attempt);
          return;
        case 'built': {
          const built = [...status.rows.keys()].filter((day) => !status.noOutput?.days.includes(day)).length;
          const elapsed = event.at - (startedAt.get(event.task.id) ?? event.at);
          if (built > 0) options.write(`${green('built')}  ${taskLabel(event)} (${built} partition${built === 1 ? '' : 's'}, ${seconds(elapsed)})\n`);
          if (status.noOutput) failedLine(event, 'failed', status.noOutput.failure);
          return;
        }
        case 'failed':
          return failedLine(event, 'failed', status.failure);
        case 'abandoned':
          return failedLine(event, 'abandoned', status.failure);
        case 'queued':
          if (status.retry)
            options.write(
              `${yellow('retry')}  ${taskLabel(event)} attempt ${(attempts.get(event.task.id) ?? 1) + 1} in ${seconds(status.retry.delayMs)} after ${status.retry.after.category}: ${withoutLabel(event.task.processor.name, headline(status.retry.after.message))}\n`,
            );
          return;
        case 'split':
          if (status.failure) options.write(`${yellow('split')}  ${taskLabel(event)} failed as a batch (${status.failure.category}); retrying it in halves\n`);
          return;
        case 'pending':
        case 'waiting-inputs':
        case 'committing':
        case 'upstream-failed':
        case 'cancelled':
          return;
      }
    },
    finish() {},
  };
}

interface Row {
  readonly name: string;
  readonly total: number;
  done: number;
  failed: number;
  cancelled: number;
  running: number;
  readonly bar: SingleBar;
}

/** The terminal the live view draws on: the writer, as a TTY stream for cli-progress. */
export interface LiveProgressOptions extends ProgressOptions {
  /** Terminal width in columns (lines are cut to it). */
  readonly columns?: number;
}

/** Statuses in which a task's job is under way (the "running" count). */
const UNDER_WAY: ReadonlySet<string> = new Set(['running', 'waiting-inputs', 'committing']);

/**
 * The live terminal view: one cli-progress bar per processor (settled/total partitions, running jobs,
 * failures, partitions not started because of a cancel), a totals line with an ETA, and below them one
 * line per distinct failure with its dates, redrawn in place; warnings print above it.
 */
export function liveProgress(options: LiveProgressOptions): ProgressView {
  const rows = new Map<string, Row>();
  const startedAt = options.now();
  const red = paint(options.color, 31);
  const dim = paint(options.color, 2);
  const stream = { isTTY: true, columns: options.columns ?? 100, write: (text: string) => {
      options.write(text);
      return true;
    } };
  const failures = new FailureGroups();
  const failureBars = new Map<FailureGroup, SingleBar>();
  let width = 4;
  const totals = () => {
    let done = 0;
    let total = 0;
    for (const row of rows.values()) {
      done += row.done;
      total += row.total - row.cancelled;
    }
    return { done, total };
  };
  type Payload = { name?: string; group?: FailureGroup };
  const format = (_options: unknown, params: { value: number; total: number }, payload: Payload): string => {
    if (payload.group) return red(`  ${payload.group.processor} ${groupLine(payload.group)}`);
    const row = payload.name === undefined ? undefined : rows.get(payload.name);
    if (!row) {
      const { done, total } = totals();
      const elapsed = options.now() - startedAt;
      const eta = done > 0 && done < total ? `, ETA ${seconds((elapsed / done) * (total - done))}` : '';
      return dim(`${done}/${total} partitions, ${seconds(elapsed)} elapsed${eta}`);
    }
    const bar = progressBar(params.total === 0 ? 1 : params.value / params.total, 20);
    const running = row.running > 0 ? `  ${row.running} running` : '';
    const failed = row.failed > 0 ? red(`  ${row.failed} failed`) : '';
    const cancelled = row.cancelled > 0 ? dim(`  ${row.cancelled} not started`) : '';
    return `${row.name.padEnd(width)} ${bar} ${String(params.value).padStart(4)}/${params.total}${running}${failed}${cancelled}`;
  };
  const bars = new MultiBar({ stream: stream as unknown as NodeJS.WritableStream, format, fps: 10, hideCursor: true, clearOnComplete: false, stopOnComplete: false, linewrap: false });
  let footer: SingleBar | undefined;
  const changed = (row: Row | undefined) => {
    if (!row) return;
    row.bar.update(row.done, { name: row.name });
    footer?.update(totals().done);
  };

  return {
    onEvent(event) {
      if (event.kind === 'run-started') {
        width = Math.max(4, ...[...event.totals.keys()].map((name) => name.length));
        for (const [name, total] of event.totals) rows.set(name, { name, total, done: 0, failed: 0, cancelled: 0, running: 0, bar: bars.create(total, 0, { name }) });
        footer = bars.create(totals().total, 0, {});
        return;
      }
      if (event.kind === 'warning') {
        // Printed above the bars at once: a warning must not wait for a redraw the run may not reach.
        bars.log(`warning: ${event.message}\n`);
        bars.update();
        return;
      }
      const row = rows.get(event.task.processor.name);
      if (!row) return;
      if (event.from !== undefined && UNDER_WAY.has(event.from)) row.running -= 1;
      if (UNDER_WAY.has(event.status.status)) row.running += 1;
      for (const [day, outcome] of outcomesOf(event)) {
        if (outcome.state === 'cancelled') {
          row.cancelled += 1;
          continue;
        }
        row.done += 1;
        if (outcome.state === 'built') continue;
        row.failed += 1;
        if (outcome.state !== 'failed') continue;
        const group = failures.add(row.name, day, outcome.failure);
        const bar = failureBars.get(group);
        if (bar) bar.update(0, { group });
        else failureBars.set(group, bars.create(0, 0, { group }));
      }
      changed(row);
    },
    finish() {
      bars.stop();
    },
  };
}

function progressBar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}
