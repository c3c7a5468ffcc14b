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
import { screenOf } from './support/screen.js';

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
    view.onEvent({
      kind: 'run-started',
      runId: 'r',
      totals: new Map([
        ['PDC', 10],
        ['MLFS', 4],
      ]),
      blocked: new Map(),
    });
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
    const [pdc, mlfs, total, failure] = screenOf(out).slice(-4);
    expect(pdc).toMatch(/^PDC\s+█+░+\s+5\/10 {2}1 running$/);
    expect(mlfs).toMatch(/^MLFS\s+█+░+\s+3\/4 {2}3 failed$/);
    // 8 of 14 in 2 s: 6 left, 1.5 s.
    expect(total).toBe('8/14 partitions, 2.0s elapsed, ETA 1.5s');
    expect(failure).toBe('  MLFS PROCESSOR_ERROR ×3 1970-01-02..04: Binder Error: no column x');
    expect(out).toContain('warning: webhook unreachable');
  });

  it('live view: a cancel does not fill the bars; what never started and what it interrupted are counted apart', () => {
    let out = '';
    const view = liveProgress({ write: (text) => (out += text), now: () => 0, color: false, columns: 120 });
    view.onEvent({ kind: 'run-started', runId: 'r', totals: new Map([['PDC', 6]]), blocked: new Map() });
    for (const event of through(task('PDC', [1, 2, 3]), [pending, 0], [{ status: 'cancelled' }, 0])) view.onEvent(event);
    const interrupted: JobFailure = { category: 'CANCELLED', message: 'interrupted: the run was cancelled' };
    for (const event of through(task('PDC', [4, 5, 6]), [pending, 0], [queued, 0], [running, 0], [{ status: 'failed', failure: interrupted }, 0]))
      view.onEvent(event);
    view.finish();
    const [pdc, total] = screenOf(out).slice(-2);
    expect(pdc).toMatch(/^PDC\s+░{20}\s+0\/6 {2}6 cancelled$/);
    // No ETA for a run that is stopping, and the interrupted jobs are not listed as failures.
    expect(total).toBe('0/6 partitions, 6 cancelled, 0.0s elapsed');
  });

  it('live view: blocked partitions and those an upstream failure left are shown per processor and in the total', () => {
    let out = '';
    const view = liveProgress({ write: (text) => (out += text), now: () => 0, color: false, columns: 160 });
    view.onEvent({
      kind: 'run-started',
      runId: 'r',
      totals: new Map([
        ['PDC', 2],
        ['PCF', 2],
      ]),
      blocked: new Map([
        ['PDC', 1],
        ['PCF', 3],
      ]),
    });
    const bad: JobFailure = { category: 'PROCESSOR_ERROR', message: 'Conversion Error: x' };
    for (const event of through(task('PDC', [1, 2]), [pending, 0], [queued, 0], [running, 0], [{ status: 'failed', failure: bad }, 0])) view.onEvent(event);
    const upstream: JobFailure = { category: 'UPSTREAM_FAILED', message: 'reads PDC 1970-01-02, which failed (PROCESSOR_ERROR)' };
    for (const event of through(task('PCF', [1, 2]), [pending, 0], [{ status: 'upstream-failed', failure: upstream }, 0])) view.onEvent(event);
    view.finish();
    const [pdc, pcf, total, failure] = screenOf(out).slice(-4);
    expect(pdc).toMatch(/^PDC\s+█{20}\s+2\/2 {2}2 failed {2}1 blocked$/);
    expect(pcf).toMatch(/^PCF\s+█{20}\s+2\/2 {2}2 upstream failed {2}3 blocked$/);
    expect(total).toBe('4/4 partitions, 4 blocked, 0.0s elapsed');
    expect(failure).toBe('  PDC PROCESSOR_ERROR ×2 1970-01-02..03: Conversion Error: x');
  });

  it('live view: a notice (the Ctrl-C message) and the ^C a terminal echoes leave a clean screen: the notice above, each bar once', () => {
    let out = '';
    const view = liveProgress({ write: (text) => (out += text), now: () => 0, color: false, columns: 100 });
    view.onEvent({
      kind: 'run-started',
      runId: 'r',
      totals: new Map([
        ['PDC', 4],
        ['PCF', 4],
      ]),
      blocked: new Map(),
    });
    const first = task('PDC', [1, 2]);
    for (const event of through(first, [pending, 0], [queued, 0], [running, 0], [{ status: 'built', rows: rows([1, 2]), builtAt: 1 }, 0])) view.onEvent(event);
    out += '^C'; // the terminal's echo, at the cursor
    view.notice?.('dag: SIGINT: cancelling run r: interrupting running jobs\n');
    for (const event of through(task('PDC', [3, 4]), [pending, 0], [{ status: 'cancelled' }, 0])) view.onEvent(event);
    for (const event of through(task('PCF', [1, 2, 3, 4]), [pending, 0], [{ status: 'cancelled' }, 0])) view.onEvent(event);
    view.finish();
    view.finish(); // a second Ctrl-C finishes again before exiting: nothing more is drawn
    const screen = screenOf(out);
    expect(screen).toEqual([
      'dag: SIGINT: cancelling run r: interrupting running jobs',
      expect.stringMatching(/^PDC\s+█{10}░{10}\s+2\/4 {2}2 cancelled$/),
      expect.stringMatching(/^PCF\s+░{20}\s+0\/4 {2}4 cancelled$/),
      '2/8 partitions, 6 cancelled, 0.0s elapsed',
    ]);
    // The cursor is shown again.
    expect(out.endsWith('\u001b[?25h') || out.lastIndexOf('\u001b[?25h') > out.lastIndexOf('\u001b[?25l')).toBe(true);
  });

  it("line view: one greppable line per finished batch, retry and split; an identical failure's message once; no escape codes", () => {
    let out = '';
    const view = lineProgress({ write: (text) => (out += text), now: () => 0, color: false });
    const bad: JobFailure = { category: 'PROCESSOR_ERROR', message: 'PSZA 2021-11-09..2021-11-09: Conversion Error: x\nmore' };
    const events = [
      ...through(task('PDC', [18932, 18933]), [pending, 0], [queued, 0], [running, 500], [{ status: 'built', rows: rows([18932, 18933]), builtAt: 1 }, 2_000]),
      ...through(task('PSZA', [18932, 18962]), [running, 0], [{ status: 'split', children: [], failure: { category: 'PROCESSOR_ERROR', message: 'bad' } }, 0]),
      ...through(task('PSZA', [18940]), [running, 0], [{ status: 'failed', failure: bad }, 10]),
      ...through(
        task('PSZA', [18941]),
        [running, 0],
        [{ status: 'failed', failure: { ...bad, message: 'PSZA 2021-11-10..2021-11-10: Conversion Error: x' } }, 10],
      ),
      ...through(
        task('FLAKY', [18932]),
        [running, 0],
        [{ status: 'queued', retry: { after: { category: 'TRANSIENT', message: 'IO Error: conflict' }, delayMs: 200 } }, 0],
      ),
    ];
    for (const event of events) view.onEvent(event);
    view.finish();
    expect(out.split('\n').filter(Boolean)).toEqual([
      'built  PDC 2021-11-01..2021-11-02 (2 partitions, 1.5s)',
      'split  PSZA 2021-11-01..2021-12-01 failed as a batch after 0.0s (PROCESSOR_ERROR); retrying it in halves',
      'failed PSZA 2021-11-09 PROCESSOR_ERROR after 0.0s: Conversion Error: x',
      'failed PSZA 2021-11-10 PROCESSOR_ERROR after 0.0s: the same as PSZA 2021-11-09',
      'retry  FLAKY 2021-11-01 attempt 2 in 0.2s after TRANSIENT: IO Error: conflict',
    ]);
    // eslint-disable-next-line no-control-regex
    expect(out).not.toContain('\u001b');
  });

  it('line view: the halves of a split batch report the time of their own jobs; upstream-failed and cancelled batches have their line too', () => {
    let out = '';
    const view = lineProgress({ write: (text) => (out += text), now: () => 0, color: false });
    const bad: JobFailure = { category: 'PROCESSOR_ERROR', message: 'Invalid Input Error: bad row' };
    const parent = task('A', [18932, 18933, 18934, 18935]);
    const left = task('A', [18932, 18933]);
    const right = task('A', [18934, 18935]);
    const events = [
      ...through(parent, [pending, 0], [queued, 0], [running, 0], [{ status: 'split', children: [left, right], failure: bad }, 4_000]),
      ...through(
        left,
        [pending, 4_000],
        [queued, 4_000],
        [running, 4_000],
        [{ status: 'committing' }, 4_400],
        [{ status: 'built', rows: rows([18932, 18933]), builtAt: 1 }, 4_500],
      ),
      // Failed like its parent: waits for its other half (pending), then is decided with it.
      ...through(
        right,
        [pending, 4_000],
        [queued, 4_000],
        [running, 4_100],
        [{ status: 'pending', after: bad }, 4_400],
        [{ status: 'failed', failure: bad }, 9_000],
      ),
      ...through(
        task('B', [18934, 18935]),
        [pending, 0],
        [{ status: 'upstream-failed', failure: { category: 'UPSTREAM_FAILED', message: 'reads A 2021-11-03, which failed (PROCESSOR_ERROR)' } }, 9_000],
      ),
      ...through(task('B', [18936]), [pending, 0], [{ status: 'cancelled' }, 9_000]),
    ];
    for (const event of events) view.onEvent(event);
    expect(out.split('\n').filter(Boolean)).toEqual([
      'split  A 2021-11-01..2021-11-04 failed as a batch after 4.0s (PROCESSOR_ERROR); retrying it in halves',
      'built  A 2021-11-01..2021-11-02 (2 partitions, 0.5s)',
      'failed A 2021-11-03..2021-11-04 PROCESSOR_ERROR after 0.3s: Invalid Input Error: bad row',
      'skipped B 2021-11-03..2021-11-04 UPSTREAM_FAILED: reads A 2021-11-03, which failed (PROCESSOR_ERROR)',
      'cancelled B 2021-11-05: not started',
    ]);
  });
});
