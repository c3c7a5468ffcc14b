/**
 * What `dag run` draws: the live terminal view (cli-progress bars redrawn in place) and the one line
 * per batch used when stdout is not a terminal. Fed the runner's events; the terminal is a recorder.
 */
import { describe, expect, it } from 'vitest';
import { lineProgress, liveProgress } from '../src/report/progress.js';

/** The text a terminal would show last: escape sequences dropped, the final frame's lines. */
function lastFrame(raw: string, lines: number): string[] {
  // eslint-disable-next-line no-control-regex
  const plain = raw.replace(/\u001b\[[0-9;?]*[A-Za-z]|\u001b[78]/g, '');
  return plain.split('\n').filter((line) => line.trim() !== '').slice(-lines);
}

describe('run progress', () => {
  it('live view: a bar per processor with done/total, running jobs and failures, and a total line with an ETA', () => {
    let out = '';
    let now = 0;
    const view = liveProgress({ write: (text) => (out += text), now: () => now, color: false, columns: 120 });
    view.onEvent({ kind: 'run-started', runId: 'r', totals: new Map([['PDC', 10], ['MLFS', 4]]) });
    view.onEvent({ kind: 'job-started', processor: 'PDC', start: 1, end: 5, attempt: 1 });
    view.onEvent({ kind: 'job-started', processor: 'PDC', start: 6, end: 10, attempt: 1 });
    now = 2_000;
    view.onEvent({ kind: 'job-finished', processor: 'PDC', start: 1, end: 5, built: [1, 2, 3, 4, 5], failure: undefined, elapsedMs: 2_000 });
    view.onEvent({ kind: 'partition-failed', processor: 'MLFS', day: 1, category: 'UPSTREAM_FAILED', message: 'reads PDC' });
    view.onEvent({ kind: 'warning', message: 'webhook unreachable' });
    view.finish();
    const [pdc, mlfs, total] = lastFrame(out, 3);
    expect(pdc).toMatch(/^PDC\s+█+░+\s+5\/10  1 running$/);
    expect(mlfs).toMatch(/^MLFS\s+█+░+\s+1\/4  1 failed$/);
    // 6 of 14 in 2 s: 8 left, ~2.7 s.
    expect(total).toBe('6/14 partitions, 2.0s elapsed, ETA 2.7s');
    expect(out).toContain('warning: webhook unreachable');
  });

  it('line view: one greppable line per finished batch, retry and split, no escape codes', () => {
    let out = '';
    const view = lineProgress({ write: (text) => (out += text), now: () => 0, color: false });
    view.onEvent({ kind: 'job-finished', processor: 'PDC', start: 18932, end: 18933, built: [18932, 18933], failure: undefined, elapsedMs: 1500 });
    view.onEvent({ kind: 'job-split', processor: 'PSZA', start: 18932, end: 18962, failure: { category: 'PROCESSOR_ERROR', message: 'bad' } });
    view.onEvent({ kind: 'job-finished', processor: 'PSZA', start: 18940, end: 18940, built: [], failure: { category: 'PROCESSOR_ERROR', message: 'Binder Error: x\nmore' }, elapsedMs: 10 });
    view.finish();
    expect(out.split('\n').filter(Boolean)).toEqual([
      'built  PDC 2021-11-01..2021-11-02 (2 partitions, 1.5s)',
      'split  PSZA 2021-11-01..2021-12-01 failed as a batch; retrying its partitions one by one',
      'failed PSZA 2021-11-09 PROCESSOR_ERROR: Binder Error: x',
    ]);
    // eslint-disable-next-line no-control-regex
    expect(out).not.toMatch(/\u001b/);
  });
});
