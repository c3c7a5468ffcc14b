/**
 * What `dag run` shows while it works. On a terminal, a live view redrawn in place: one line per
 * processor with done/total partitions, running jobs, failures and an ETA. Elsewhere (CI logs,
 * pipes), one line per finished batch, so logs stay greppable and never fill with escape codes.
 */
import type { RunEvent } from '../runner/types.js';
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

/** The first line of a failure message (log tails follow in the summary). */
function firstLine(message: string): string {
  return (message.split('\n')[0] ?? '').replace(/; last lines:$/, '');
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
            options.write(`${red('failed')} ${event.processor} ${range} ${event.failure.category}: ${firstLine(event.failure.message)}\n`);
          break;
        }
        case 'job-retry':
          options.write(`${yellow('retry')}  ${event.processor} ${dayRangeText(event.start, event.end)} attempt ${event.attempt} in ${seconds(event.delayMs)} after ${event.failure.category}: ${firstLine(event.failure.message)}\n`);
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
}

/** The live terminal view, redrawn in place at most every `intervalMs`. */
export function liveProgress(options: ProgressOptions & { readonly intervalMs?: number }): ProgressView {
  const rows = new Map<string, Row>();
  const startedAt = options.now();
  let drawnLines = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  const red = paint(options.color, 31);
  const dim = paint(options.color, 2);

  const render = (): string[] => {
    const width = Math.max(4, ...[...rows.keys()].map((name) => name.length));
    let done = 0;
    let total = 0;
    const lines = [...rows.values()].map((row) => {
      done += row.done;
      total += row.total;
      const bar = progressBar(row.total === 0 ? 1 : row.done / row.total, 20);
      const failed = row.failed > 0 ? red(`  ${row.failed} failed`) : '';
      const running = row.running > 0 ? `  ${row.running} running` : '';
      return `${row.name.padEnd(width)} ${bar} ${String(row.done).padStart(4)}/${row.total}${running}${failed}`;
    });
    const elapsed = options.now() - startedAt;
    const eta = done > 0 && done < total ? `, ETA ${seconds((elapsed / done) * (total - done))}` : '';
    lines.push(dim(`${done}/${total} partitions, ${seconds(elapsed)} elapsed${eta}`));
    return lines;
  };
  const draw = () => {
    const lines = render();
    let out = drawnLines > 0 ? `\u001b[${drawnLines}F` : '';
    for (const line of lines) out += `\u001b[2K${line}\n`;
    options.write(out);
    drawnLines = lines.length;
  };
  const above = (text: string) => {
    // Print a message above the live area, then redraw it below.
    let out = drawnLines > 0 ? `\u001b[${drawnLines}F\u001b[0J` : '';
    out += text;
    options.write(out);
    drawnLines = 0;
    draw();
  };
  const row = (name: string) => rows.get(name);

  return {
    onEvent(event) {
      switch (event.kind) {
        case 'run-started':
          for (const [name, total] of event.totals) rows.set(name, { name, total, done: 0, failed: 0, running: 0 });
          timer = setInterval(draw, options.intervalMs ?? 100);
          timer.unref?.();
          draw();
          break;
        case 'job-started': {
          const r = row(event.processor);
          if (r) r.running += 1;
          break;
        }
        case 'job-finished': {
          const r = row(event.processor);
          if (r) {
            r.running = Math.max(0, r.running - 1);
            r.done += event.built.length;
          }
          break;
        }
        case 'partition-failed': {
          const r = row(event.processor);
          if (r) {
            r.done += 1;
            r.failed += 1;
          }
          break;
        }
        case 'warning':
          above(`warning: ${event.message}\n`);
          break;
        case 'job-retry': {
          // The failed attempt ended; the retry's job-started counts it again.
          const r = row(event.processor);
          if (r) r.running = Math.max(0, r.running - 1);
          break;
        }
        case 'job-split':
          break;
      }
    },
    finish() {
      if (timer) clearInterval(timer);
      if (rows.size > 0) draw();
    },
  };
}

function progressBar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}
