/**
 * What `dag run` shows while it works. On a terminal, a live view redrawn in place: one line per
 * processor with done/total partitions, running jobs, failures and an ETA. Elsewhere (CI logs,
 * pipes), one line per finished batch, so logs stay greppable and never fill with escape codes.
 */
import { MultiBar, type SingleBar } from 'cli-progress';
import type { RunEvent } from '../runner/types.js';
import { firstLine } from '../warehouse/shared.js';
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

/** One line per finished batch, retry and warning. */
export function lineProgress(options: ProgressOptions): ProgressView {
  const green = paint(options.color, 32);
  const red = paint(options.color, 31);
  const yellow = paint(options.color, 33);
  return {
    onEvent(event) {
      switch (event.kind) {
        case 'job-finished': {
          const range = dayRangeText(event.start, event.end);
          if (event.failure === undefined && event.built.length > 0)
            options.write(`${green('built')}  ${event.processor} ${range} (${event.built.length} partition${event.built.length === 1 ? '' : 's'}, ${seconds(event.elapsedMs)})\n`);
          else if (event.failure)
            options.write(`${red('failed')} ${event.processor} ${range} ${event.failure.category}: ${headline(event.failure.message)}\n`);
          break;
        }
        case 'job-retry':
          options.write(`${yellow('retry')}  ${event.processor} ${dayRangeText(event.start, event.end)} attempt ${event.attempt} in ${seconds(event.delayMs)} after ${event.failure.category}: ${headline(event.failure.message)}\n`);
          break;
        case 'job-split':
          options.write(`${yellow('split')}  ${event.processor} ${dayRangeText(event.start, event.end)} failed as a batch; retrying its partitions one by one\n`);
          break;
        case 'warning':
          options.write(`${yellow('warning')}: ${event.message}\n`);
          break;
        case 'run-started':
        case 'job-started':
        case 'partition-failed':
          break;
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
  running: number;
  readonly bar: SingleBar;
}

/** The terminal the live view draws on: the writer, as a TTY stream for cli-progress. */
export interface LiveProgressOptions extends ProgressOptions {
  /** Terminal width in columns (lines are cut to it). */
  readonly columns?: number;
}

/**
 * The live terminal view: one cli-progress bar per processor (done/total partitions, running jobs,
 * failures) and a last line with the totals and an ETA, redrawn in place; warnings print above it.
 */
export function liveProgress(options: LiveProgressOptions): ProgressView {
  const rows = new Map<string, Row>();
  const startedAt = options.now();
  const red = paint(options.color, 31);
  const dim = paint(options.color, 2);
  const stream = { isTTY: true, columns: options.columns ?? 100, write: (text: string) => (options.write(text), true) };
  let width = 4;
  const totals = () => {
    let done = 0;
    let total = 0;
    for (const row of rows.values()) {
      done += row.done;
      total += row.total;
    }
    return { done, total };
  };
  const format = (_options: unknown, params: { value: number; total: number }, payload: { name?: string }): string => {
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
    return `${row.name.padEnd(width)} ${bar} ${String(params.value).padStart(4)}/${params.total}${running}${failed}`;
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
      switch (event.kind) {
        case 'run-started':
          width = Math.max(4, ...[...event.totals.keys()].map((name) => name.length));
          for (const [name, total] of event.totals) rows.set(name, { name, total, done: 0, failed: 0, running: 0, bar: bars.create(total, 0, { name }) });
          footer = bars.create(totals().total, 0, {});
          break;
        case 'job-started': {
          const row = rows.get(event.processor);
          if (row) row.running += 1;
          changed(row);
          break;
        }
        case 'job-finished': {
          const row = rows.get(event.processor);
          if (row) {
            row.running = Math.max(0, row.running - 1);
            row.done += event.built.length;
          }
          changed(row);
          break;
        }
        case 'partition-failed': {
          const row = rows.get(event.processor);
          if (row) {
            row.done += 1;
            row.failed += 1;
          }
          changed(row);
          break;
        }
        case 'warning':
          // Printed above the bars at once: a warning must not wait for a redraw the run may not reach.
          bars.log(`warning: ${event.message}\n`);
          bars.update();
          break;
        case 'job-retry': {
          // The failed attempt ended; the retry's job-started counts it again.
          const row = rows.get(event.processor);
          if (row) row.running = Math.max(0, row.running - 1);
          changed(row);
          break;
        }
        case 'job-split':
          break;
      }
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
