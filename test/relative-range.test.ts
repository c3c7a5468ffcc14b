/**
 * Relative ranges (DESIGN §6): `today`, `yesterday`, `-Nd`, `A..`, in the pipeline's `timezone:`,
 * with "now" fixed once per invocation and pinned by DAG_NOW. Unit tests of the parser and of the
 * time-zone helper, then the real CLI under two time zones either side of midnight.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseRange } from '../src/cli/range.js';
import { invocationNow, invocationToday } from '../src/cli/today.js';
import type { CliIO } from '../src/cli/io.js';
import { dayInTimeZone, formatDay, parseIsoDate, type Day } from '../src/core/dates.js';
import { copySql, countsByDay, makeProject, pipelineYaml, type Project } from './fixtures/run/project.js';

const day = (iso: string): Day => parseIsoDate(iso)!;
const iso = (range: { start: Day; end: Day }): string => `${formatDay(range.start)}..${formatDay(range.end)}`;
const TODAY = day('2021-11-30');

describe('parseRange', () => {
  it('reads today, yesterday, -Nd, open ends and their mixes against the given today', () => {
    const at = (text: string) => iso(parseRange(text, () => TODAY));
    expect(at('today')).toBe('2021-11-30..2021-11-30');
    expect(at('yesterday')).toBe('2021-11-29..2021-11-29');
    expect(at('-7d')).toBe('2021-11-23..2021-11-23');
    expect(at('-7d..today')).toBe('2021-11-23..2021-11-30');
    expect(at('-7d..yesterday')).toBe('2021-11-23..2021-11-29');
    expect(at('2021-11-01..')).toBe('2021-11-01..2021-11-30');
    expect(at('yesterday..')).toBe('2021-11-29..2021-11-30');
    expect(at('2021-11-01..-1d')).toBe('2021-11-01..2021-11-29');
  });

  it('never reads the clock for an absolute range, and reads it once for a relative one', () => {
    const never = () => {
      throw new Error('clock read');
    };
    expect(iso(parseRange('2021-11-01..2021-11-03', never))).toBe('2021-11-01..2021-11-03');
    const today = vi.fn(() => TODAY);
    parseRange('-3d..today', today);
    expect(today).toHaveBeenCalledTimes(1);
  });

  it('says what is wrong, with the resolved dates when the end comes first', () => {
    const fails = (text: string) => {
      try {
        parseRange(text, () => TODAY);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error(`${text} parsed`);
    };
    expect(fails('tomorrow')).toBe("--range 'tomorrow': cannot read 'tomorrow' as a date (expected YYYY-MM-DD, today, yesterday or -Nd)");
    expect(fails('-7x')).toContain("cannot read '-7x'");
    expect(fails('..today')).toBe("--range '..today': the start date is missing");
    expect(fails('today..-3d')).toBe("--range 'today..-3d': the end comes before the start (2021-11-30..2021-11-27, today being 2021-11-30)");
  });
});

describe('dayInTimeZone', () => {
  it('gives the date of an instant in the zone, either side of its midnight', () => {
    // New York is UTC-4 until 2021-11-07 (EDT), UTC-5 after; Tokyo is UTC+9 all year.
    expect(formatDay(dayInTimeZone(Date.parse('2021-11-02T03:59:59Z'), 'America/New_York'))).toBe('2021-11-01');
    expect(formatDay(dayInTimeZone(Date.parse('2021-11-02T04:00:00Z'), 'America/New_York'))).toBe('2021-11-02');
    expect(formatDay(dayInTimeZone(Date.parse('2021-11-08T04:59:59Z'), 'America/New_York'))).toBe('2021-11-07');
    expect(formatDay(dayInTimeZone(Date.parse('2021-11-08T05:00:00Z'), 'America/New_York'))).toBe('2021-11-08');
    expect(formatDay(dayInTimeZone(Date.parse('2021-11-01T14:59:59Z'), 'Asia/Tokyo'))).toBe('2021-11-01');
    expect(formatDay(dayInTimeZone(Date.parse('2021-11-01T15:00:00Z'), 'Asia/Tokyo'))).toBe('2021-11-02');
    expect(formatDay(dayInTimeZone(Date.parse('2021-11-01T23:59:59Z'), 'UTC'))).toBe('2021-11-01');
  });
});

describe('now, fixed once per invocation', () => {
  const io = (env: Record<string, string> = {}): CliIO => ({
    cwd: '/',
    env,
    stdout: () => {},
    stderr: () => {},
    isTTY: false,
    argv: [],
    exitCode: 0,
    doing: '',
  });

  it('reads the clock once: later calls in the same invocation see the same instant', () => {
    vi.useFakeTimers();
    try {
      vi.setSystemTime(Date.parse('2021-11-30T23:59:59.900Z'));
      const one = io();
      expect(formatDay(invocationToday(one))).toBe('2021-11-30');
      vi.setSystemTime(Date.parse('2021-12-01T00:00:01Z'));
      expect(formatDay(invocationToday(one))).toBe('2021-11-30');
      expect(invocationNow(one)).toBe(Date.parse('2021-11-30T23:59:59.900Z'));
      // Another invocation reads the clock afresh.
      expect(formatDay(invocationToday(io()))).toBe('2021-12-01');
    } finally {
      vi.useRealTimers();
    }
  });

  it('today in UTC (computed without Intl) is the day Intl gives, on both sides of midnight and before 1970', () => {
    for (const now of ['2021-11-30T23:59:59.999Z', '2021-12-01T00:00:00Z', '2024-02-29T12:00:00Z', '1969-12-31T23:59:59Z', '1900-03-01T00:00:00.001Z']) {
      const pinned = io({ DAG_NOW: now });
      expect(invocationToday(pinned), now).toBe(dayInTimeZone(Date.parse(now), 'UTC'));
      expect(formatDay(invocationToday(pinned)), now).toBe(now.slice(0, 10));
    }
  });

  it('DAG_NOW pins it; a DAG_NOW that is no date is a usage error', () => {
    expect(formatDay(invocationToday(io({ DAG_NOW: '2021-11-02T03:30:00Z' }), 'America/New_York'))).toBe('2021-11-01');
    expect(() => invocationNow(io({ DAG_NOW: 'last tuesday' }))).toThrow("DAG_NOW 'last tuesday' is not an ISO date or time");
  });
});

describe('relative ranges through the CLI', () => {
  const processors = `  COPY:\n    table: work.copy\n    upstream: [src]\n    sql: sql/copy.sql\n`;
  let newYork: Project;
  let utc: Project;
  let tokyo: Project;
  beforeAll(async () => {
    [newYork, utc, tokyo] = await Promise.all([
      makeProject(pipelineYaml(processors, 'timezone: America/New_York'), { 'sql/copy.sql': copySql('src') }),
      makeProject(pipelineYaml(processors), { 'sql/copy.sql': copySql('src') }),
      makeProject(pipelineYaml(processors, 'timezone: Asia/Tokyo'), { 'sql/copy.sql': copySql('src') }),
    ]);
  });
  afterAll(() => {
    for (const p of [newYork, utc, tokyo]) rmSync(p.dir, { recursive: true, force: true });
  });

  async function planned(project: Project, range: string, now: string): Promise<string> {
    const result = await project.dag(['plan', '--range', range, '--json'], { DAG_NOW: now });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as { range: { start: string; end: string } };
    return `${json.range.start}..${json.range.end}`;
  }

  it('means today in the pipeline timezone: New York and UTC differ at 23:30 New York time', async () => {
    const now = '2021-11-06T03:30:00Z'; // 23:30 on Nov 5 in New York, 03:30 on Nov 6 in UTC
    const ranges = await Promise.all([
      planned(newYork, 'yesterday', now),
      planned(utc, 'yesterday', now),
      planned(newYork, '-3d..today', now),
      planned(utc, '2021-11-01..', now),
    ]);
    expect(ranges).toEqual(['2021-11-04..2021-11-04', '2021-11-05..2021-11-05', '2021-11-02..2021-11-05', '2021-11-01..2021-11-06']);
  });

  it('turns the day at midnight in Tokyo, not at midnight UTC', async () => {
    const ranges = await Promise.all([
      planned(tokyo, 'today', '2021-11-05T14:59:59Z'),
      planned(tokyo, 'today', '2021-11-05T15:00:00Z'),
      planned(utc, 'today', '2021-11-05T15:00:00Z'),
    ]);
    expect(ranges).toEqual(['2021-11-05..2021-11-05', '2021-11-06..2021-11-06', '2021-11-05..2021-11-05']);
  });

  it('cron: run --range yesterday --mode daily builds exactly yesterday', async () => {
    const result = await newYork.dag(['run', '--range', 'yesterday', '--mode', 'daily'], { DAG_NOW: '2021-11-06T03:30:00Z' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect([...(await countsByDay(newYork.db, 'work.copy')).keys()]).toEqual(['2021-11-04']);
  });

  it('a DAG_NOW that is no instant is a usage error naming it', async () => {
    const result = await utc.dag(['plan', '--range', 'today'], { DAG_NOW: 'soon' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("DAG_NOW 'soon' is not an ISO date or time");
  });
});
