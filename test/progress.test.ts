/**
 * What `dag run` draws: the live terminal view (cli-progress bars redrawn in place) and the one line
 * per batch used when stdout is not a terminal. Fed the runner's task events; the terminal is a recorder.
 */
import { describe, expect, it } from 'vitest';
import type { Day } from '../src/core/dates.js';
import type { Task, TaskEvent, TaskStatus } from '../src/runner/lifecycle.js';
import { lineProgress, liveProgress } from '../src/report/progress.js';
import type { JobFailure } from '../src/warehouse/port.js';
import { processor } from './support/memory-warehouse.js';

/** The text a terminal would show last: escape sequences dropped, the final frame's lines. */
function lastFrame(raw: string, lines: number): string[] {
  // eslint-disable-next-line no-control-regex
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ANSI escapes (ESC) are what this strips
  const plain = raw.replace(/\u001b\[[0-9;?]*[A-Za-z]|\u001b[78]/g, '');
  return plain.split('\n').filter((line) => line.trim() !== '').slice(-lines);
}

let ids = 0;
function task(name: string, days: Day[]): Task {
  return { id: ids++, processor: processor(name), days, index: 0, inputsByDay: new Map(), waitsFor: new Set() };
}

/** The events of a task going through `statuses`, at the given times. */
function through(t: Task, ...steps: [TaskStatus, number][]): TaskEvent[] {
  let from: TaskStatus['status'] | undefined;
  return steps.map(([status, at]) => {
    const event: TaskEvent = { kind: 'task', task: t, status, from, at };
    from = status.status;
    return event;
  });
}

const rows = (days: Day[]) => new Map(days.map((d) => [d, 3]));
const pending: TaskStatus = { status: 'pending' };
const queued: TaskStatus = { status: 'queued' };
const running: TaskStatus = { status: 'running', attempt: 1 };

describe('run progress', () => {
  it('live view: a bar per processor with settled/total, running jobs and failures, a total line with an ETA, one line per distinct failure', () => {
    let out = '';
    let now = 0;
    const view = liveProgress({ write: (text) => (out += text), now: () => now, color: false, columns: 120 });
    view.onEvent({ kind: 'run-started', runId: 'r', totals: new Map([['PDC', 10], ['MLFS', 4]]) });
    const first = task('PDC', [1, 2, 3, 4, 5]);
    const second = task('PDC', [6, 7, 8, 9, 10]);
    const binder: JobFailure = { category: 'PROCESSOR_ERROR', message: 'MLFS 1970-01-02..1970-01-03: Binder Error: no column x', dataIndependent: true };
    const events = [
      ...through(first, [pending, 0], [queued, 0], [running, 0]),
      ...through(second, [pending, 0], [queued, 0], [running, 0]),
      ...through(first, [running, 0], [{ status: 'committing' }, 1_500], [{ status: 'built', rows: rows([1, 2, 3, 4, 5]), builtAt: 1 }, 2_000]).slice(1),
      ...through(task('MLFS', [1, 2]), [pending, 0], [{ status: 'failed', failure: binder }, 2_000]),
      ...through(task('MLFS', [3]), [pending, 0], [{ status: 'failed', failure: binder }, 2_000]),
    ];
    now = 2_000;
    for (const event of events) view.onEvent(event);
    view.onEvent({ kind: 'warning', message: 'webhook unreachable' });
    view.finish();
    const [pdc, mlfs, total, failure] = lastFrame(out, 4);
    expect(pdc).toMatch(/^PDC\s+█+░+\s+5\/10 {2}1 running$/);
    expect(mlfs).toMatch(/^MLFS\s+█+░+\s+3\/4 {2}3 failed$/);
    // 8 of 14 in 2 s: 6 left, 1.5 s.
    expect(total).toBe('8/14 partitions, 2.0s elapsed, ETA 1.5s');
    expect(failure).toBe('  MLFS PROCESSOR_ERROR ×3 1970-01-02..04: Binder Error: no column x');
    expect(out).toContain('warning: webhook unreachable');
  });

  it('live view: a cancel does not fill the bars; what never started is counted apart', () => {
    let out = '';
    const view = liveProgress({ write: (text) => (out += text), now: () => 0, color: false, columns: 120 });
    view.onEvent({ kind: 'run-started', runId: 'r', totals: new Map([['PDC', 6]]) });
    for (const event of through(task('PDC', [1, 2, 3]), [pending, 0], [{ status: 'cancelled' }, 0])) view.onEvent(event);
    view.finish();
    const [pdc] = lastFrame(out, 2);
    expect(pdc).toMatch(/^PDC\s+░{20}\s+0\/6 {2}3 not started$/);
  });

  it('line view: one greppable line per finished batch, retry and split; an identical failure once; no escape codes', () => {
    let out = '';
    const view = lineProgress({ write: (text) => (out += text), now: () => 0, color: false });
    const bad: JobFailure = { category: 'PROCESSOR_ERROR', message: 'PSZA 2021-11-09..2021-11-09: Conversion Error: x\nmore' };
    const events = [
      ...through(task('PDC', [18932, 18933]), [pending, 0], [queued, 0], [running, 500], [{ status: 'built', rows: rows([18932, 18933]), builtAt: 1 }, 2_000]),
      ...through(task('PSZA', [18932, 18962]), [running, 0], [{ status: 'split', children: [], failure: { category: 'PROCESSOR_ERROR', message: 'bad' } }, 0]),
      ...through(task('PSZA', [18940]), [running, 0], [{ status: 'failed', failure: bad }, 10]),
      ...through(task('PSZA', [18941]), [running, 0], [{ status: 'failed', failure: { ...bad, message: 'PSZA 2021-11-10..2021-11-10: Conversion Error: x' } }, 10]),
      ...through(task('FLAKY', [18932]), [running, 0], [{ status: 'queued', retry: { after: { category: 'TRANSIENT', message: 'IO Error: conflict' }, delayMs: 200 } }, 0]),
    ];
    for (const event of events) view.onEvent(event);
    view.finish();
    expect(out.split('\n').filter(Boolean)).toEqual([
      'built  PDC 2021-11-01..2021-11-02 (2 partitions, 1.5s)',
      'split  PSZA 2021-11-01..2021-12-01 failed as a batch (PROCESSOR_ERROR); retrying it in halves',
      'failed PSZA 2021-11-09 PROCESSOR_ERROR: Conversion Error: x',
      'retry  FLAKY 2021-11-01 attempt 2 in 0.2s after TRANSIENT: IO Error: conflict',
    ]);
    // eslint-disable-next-line no-control-regex
    expect(out).not.toContain('\u001b');
  });
});
