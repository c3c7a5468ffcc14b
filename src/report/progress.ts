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
import { failureKey } from '../runner/policy.js';
import type { JobFailure } from '../warehouse/port.js';
import { firstLine } from '../warehouse/shared.js';
import { FailureGroups, groupLine, withoutLabel, type FailureGroup } from './failure-groups.js';
import { dayRangeText } from './ranges.js';

export interface ProgressView {
  onEvent(event: RunEvent): void;
  /**
   * A message for the person watching (the Ctrl-C notice, daily mode's failures), printed without
   * breaking the view: the live view prints it above its bars and redraws them. Absent: write it to
   * stderr as usual.
   */
  readonly notice?: (text: string) => void;
  /** Draws the final state and stops redrawing (restores the cursor); calling it again does nothing. */
  finish(): void;
}

export interface ProgressOptions {
  readonly write: (text: string) => void;
  readonly now: () => number;
  readonly color: boolean;
}

function seconds(ms: number): string {
  return ms < 10_000
    ? `${(ms / 1000).toFixed(1)}s`
    : ms < 120_000
      ? `${Math.round(ms / 1000)}s`
      : `${Math.floor(ms / 60_000)}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;
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

/** A job interrupted by the cancel: not a failure of its own, and not done (its days count as cancelled). */
function interrupted(failure: JobFailure): boolean {
  return failure.category === 'CANCELLED';
}

/**
 * How long each task's own jobs ran: from each `running` to the status that ends the attempt, summed
 * over retries. A half of a split batch is its own task, so its days report its own time, not the
 * parent's, nor the wait for its other half or a retry's backoff.
 */
class JobTimes {
  private readonly since = new Map<number, number>();
  private readonly spent = new Map<number, number>();

  onEvent(event: TaskEvent): void {
    const id = event.task.id;
    if (event.status.status === 'running') this.since.set(id, event.at);
    else if (event.from !== undefined && UNDER_WAY.has(event.from) && !UNDER_WAY.has(event.status.status)) this.stop(id, event.at);
  }

  private stop(id: number, at: number): void {
    const since = this.since.get(id);
    if (since === undefined) return;
    this.since.delete(id);
    this.spent.set(id, (this.spent.get(id) ?? 0) + at - since);
  }

  /** Undefined for a task that never ran (settled by an upstream failure, a cancel, or its processor's failure). */
  of(event: TaskEvent): number | undefined {
    return this.spent.get(event.task.id);
  }
}

/**
 * One line per settled batch (built, failed, not built because of an upstream failure, cancelled), and
 * per retry, split and warning, each with the time its own jobs took. A failure identical to one already
 * shown (same processor, category and first line) names the first instead of repeating its message:
 * every batch still has its line, and the summary lists the failure once with all its dates.
 */
export function lineProgress(options: ProgressOptions): ProgressView {
  const green = paint(options.color, 32);
  const red = paint(options.color, 31);
  const yellow = paint(options.color, 33);
  const times = new JobTimes();
  const attempts = new Map<number, number>();
  const shown = new Map<string, string>();
  const took = (event: TaskEvent): string => {
    const ms = times.of(event);
    return ms === undefined ? '' : ` after ${seconds(ms)}`;
  };
  const failedLine = (event: TaskEvent, word: string, failure: JobFailure): void => {
    const processor = event.task.processor.name;
    const key = `${processor}\u0000${failureKey(failure)}`;
    const first = shown.get(key);
    if (first === undefined) shown.set(key, taskLabel(event));
    const what = first === undefined ? withoutLabel(processor, headline(failure.message)) : `the same as ${first}`;
    options.write(`${red(word)} ${taskLabel(event)} ${failure.category}${took(event)}: ${what}\n`);
  };
  return {
    onEvent(event) {
      if (event.kind === 'warning') return options.write(`${yellow('warning')}: ${event.message}\n`);
      if (event.kind !== 'task') return;
      times.onEvent(event);
      const { status } = event;
      switch (status.status) {
        case 'running':
          attempts.set(event.task.id, status.attempt);
          return;
        case 'built': {
          const built = [...status.rows.keys()].filter((day) => !status.noOutput?.days.includes(day) && !status.rejected?.some((r) => r.day === day)).length;
          if (built > 0)
            options.write(`${green('built')}  ${taskLabel(event)} (${built} partition${built === 1 ? '' : 's'}, ${seconds(times.of(event) ?? 0)})\n`);
          if (status.noOutput) failedLine(event, 'failed', status.noOutput.failure);
          // A day a check rejected is its own line: its finding (check, offending rows) is particular to it.
          for (const { day, failure } of status.rejected ?? [])
            options.write(`${red('failed')} ${event.task.processor.name} ${dayRangeText(day, day)} ${failure.category}: ${headline(failure.message)}\n`);
          return;
        }
        case 'failed':
          if (interrupted(status.failure))
            return options.write(`${yellow('cancelled')} ${taskLabel(event)}: interrupted${took(event)}; nothing of it was written\n`);
          return failedLine(event, 'failed', status.failure);
        case 'abandoned':
          return failedLine(event, 'abandoned', status.failure);
        case 'upstream-failed':
          return options.write(`${yellow('skipped')} ${taskLabel(event)} ${status.failure.category}: ${status.failure.message}\n`);
        case 'cancelled':
          return options.write(`${yellow('cancelled')} ${taskLabel(event)}: not started\n`);
        case 'queued':
          if (status.retry)
            options.write(
              `${yellow('retry')}  ${taskLabel(event)} attempt ${(attempts.get(event.task.id) ?? 1) + 1} in ${seconds(status.retry.delayMs)} after ${status.retry.after.category}: ${withoutLabel(event.task.processor.name, headline(status.retry.after.message))}\n`,
            );
          return;
        case 'split':
          if (status.failure)
            options.write(`${yellow('split')}  ${taskLabel(event)} failed as a batch${took(event)} (${status.failure.category}); retrying it in halves\n`);
          return;
        case 'pending':
        case 'waiting-inputs':
        case 'committing':
          return;
      }
    },
    finish() {},
  };
}

interface Row {
  readonly name: string;
  readonly total: number;
  /** Blocked in the plan: not attempted, and not part of `total`. */
  readonly blocked: number;
  built: number;
  failed: number;
  upstreamFailed: number;
  /** Not started, or interrupted, because of a cancel: never counted as done. */
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
 * failures, partitions not built because an upstream one failed, blocked in the plan, and those a
 * cancel left), a totals line with an ETA, and below them one line per distinct failure with its
 * dates, redrawn in place; warnings and notices print above it. A bar fills only with partitions that
 * settled on their own (built, failed, upstream failed): a cancel never fills it.
 */
export function liveProgress(options: LiveProgressOptions): ProgressView {
  const rows = new Map<string, Row>();
  const startedAt = options.now();
  const red = paint(options.color, 31);
  const yellow = paint(options.color, 33);
  const dim = paint(options.color, 2);
  const stream = {
    isTTY: true,
    columns: options.columns ?? 100,
    write: (text: string) => {
      options.write(text);
      return true;
    },
  };
  const failures = new FailureGroups();
  const failureBars = new Map<FailureGroup, SingleBar>();
  let width = 4;
  let stopped = false;
  const done = (row: Row) => row.built + row.failed + row.upstreamFailed;
  const totals = () => {
    const sum = { done: 0, total: 0, blocked: 0, cancelled: 0 };
    for (const row of rows.values()) {
      sum.done += done(row);
      sum.total += row.total;
      sum.blocked += row.blocked;
      sum.cancelled += row.cancelled;
    }
    return sum;
  };
  type Payload = { name?: string; group?: FailureGroup };
  const format = (_options: unknown, params: { value: number; total: number }, payload: Payload): string => {
    if (payload.group) return red(`  ${payload.group.processor} ${groupLine(payload.group)}`);
    const row = payload.name === undefined ? undefined : rows.get(payload.name);
    if (!row) {
      const t = totals();
      const elapsed = options.now() - startedAt;
      const cancelling = t.cancelled > 0;
      const eta = !cancelling && t.done > 0 && t.done < t.total ? `, ETA ${seconds((elapsed / t.done) * (t.total - t.done))}` : '';
      const blocked = t.blocked > 0 ? `, ${t.blocked} blocked` : '';
      const cancelled = cancelling ? `, ${t.cancelled} cancelled` : '';
      return dim(`${t.done}/${t.total} partitions${blocked}${cancelled}, ${seconds(elapsed)} elapsed${eta}`);
    }
    const bar = progressBar(params.total === 0 ? 1 : params.value / params.total, 20);
    const running = row.running > 0 ? `  ${row.running} running` : '';
    const failed = row.failed > 0 ? red(`  ${row.failed} failed`) : '';
    const upstream = row.upstreamFailed > 0 ? yellow(`  ${row.upstreamFailed} upstream failed`) : '';
    const blocked = row.blocked > 0 ? dim(`  ${row.blocked} blocked`) : '';
    const cancelled = row.cancelled > 0 ? dim(`  ${row.cancelled} cancelled`) : '';
    return `${row.name.padEnd(width)} ${bar} ${String(params.value).padStart(4)}/${params.total}${running}${failed}${upstream}${blocked}${cancelled}`;
  };
  // forceRedraw: every frame redraws every line, so anything that reached the terminal between frames
  // (the ^C a terminal echoes) is painted over rather than left beside an unchanged line.
  const bars = new MultiBar({
    stream: stream as unknown as NodeJS.WritableStream,
    format,
    fps: 10,
    hideCursor: true,
    clearOnComplete: false,
    stopOnComplete: false,
    linewrap: false,
    forceRedraw: true,
  });
  let footer: SingleBar | undefined;
  const changed = (row: Row | undefined) => {
    if (!row) return;
    row.bar.update(done(row), { name: row.name });
    footer?.update(totals().done);
  };
  /** Printed above the bars at once: a message must not wait for a redraw the run may not reach. */
  const above = (text: string) => {
    if (stopped) return options.write(text);
    bars.log(text.endsWith('\n') ? text : `${text}\n`);
    bars.update();
  };

  return {
    onEvent(event) {
      if (event.kind === 'run-started') {
        width = Math.max(4, ...[...event.totals.keys()].map((name) => name.length));
        for (const [name, total] of event.totals) {
          const blocked = event.blocked.get(name) ?? 0;
          rows.set(name, { name, total, blocked, built: 0, failed: 0, upstreamFailed: 0, cancelled: 0, running: 0, bar: bars.create(total, 0, { name }) });
        }
        footer = bars.create(totals().total, 0, {});
        return;
      }
      if (event.kind === 'warning') return above(`warning: ${event.message}\n`);
      const row = rows.get(event.task.processor.name);
      if (!row) return;
      if (event.from !== undefined && UNDER_WAY.has(event.from)) row.running -= 1;
      if (UNDER_WAY.has(event.status.status)) row.running += 1;
      for (const [day, outcome] of outcomesOf(event)) {
        if (outcome.state === 'cancelled' || (outcome.state === 'failed' && interrupted(outcome.failure))) row.cancelled += 1;
        else if (outcome.state === 'built') row.built += 1;
        else if (outcome.state === 'upstream-failed') row.upstreamFailed += 1;
        else {
          row.failed += 1;
          const group = failures.add(row.name, day, outcome.failure);
          const bar = failureBars.get(group);
          if (bar) bar.update(0, { group });
          else failureBars.set(group, bars.create(0, 0, { group }));
        }
      }
      changed(row);
    },
    notice: above,
    finish() {
      if (stopped) return;
      stopped = true;
      bars.stop();
    },
  };
}

function progressBar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}
