/**
 * The pure parts of schema changes and --full-refresh: which types widen in place on each engine, what
 * a changed SELECT does to a table under each on_schema_change, and which ranges a full refresh
 * accepts (the CLI tests run the same through the binary; these pin the rules case by case).
 */
import { describe, expect, it } from 'vitest';
import { makeCalendar } from '../src/core/calendar.js';
import { checkFullRefresh, refreshedProcessors } from '../src/core/full-refresh.js';
import type { Processor } from '../src/core/model.js';
import type { Snapshot } from '../src/core/snapshot.js';
import { BIGQUERY_TYPES } from '../src/warehouse/bigquery/schema.js';
import { duckdbWidens, DUCKDB_TYPES } from '../src/warehouse/duckdb/types.js';
import { decideSchemaChange, type Column } from '../src/warehouse/schema-change.js';
import { pipelineOf, source, sqlProcessor } from './support/duckdb-pipeline.js';
import { day, days } from './support/pipeline-builder.js';

describe('lossless widenings', () => {
  it('DuckDB: larger integers, integers and FLOAT into DOUBLE, DATE into TIMESTAMP, wider decimals; nothing that can change a value', () => {
    const yes: [string, string][] = [
      ['INTEGER', 'BIGINT'],
      ['SMALLINT', 'INTEGER'],
      ['UINTEGER', 'BIGINT'],
      ['INTEGER', 'DOUBLE'],
      ['BIGINT', 'DOUBLE'],
      ['FLOAT', 'DOUBLE'],
      ['SMALLINT', 'FLOAT'],
      ['DATE', 'TIMESTAMP'],
      ['DECIMAL(10,2)', 'DECIMAL(12,3)'],
      ['INTEGER', 'DECIMAL(12,2)'],
    ];
    const no: [string, string][] = [
      ['BIGINT', 'INTEGER'],
      ['DOUBLE', 'INTEGER'],
      ['INTEGER', 'FLOAT'],
      ['HUGEINT', 'DOUBLE'],
      ['BIGINT', 'UBIGINT'],
      ['UBIGINT', 'BIGINT'],
      ['VARCHAR', 'INTEGER'],
      ['INTEGER', 'VARCHAR'],
      ['TIMESTAMP', 'DATE'],
      ['DECIMAL(12,3)', 'DECIMAL(12,2)'],
      ['BIGINT', 'DECIMAL(18,2)'],
    ];
    for (const [from, to] of yes) expect(duckdbWidens(from, to), `${from} → ${to}`).toBe(true);
    for (const [from, to] of no) expect(duckdbWidens(from, to), `${from} → ${to}`).toBe(false);
  });

  it('BigQuery: INT64 to NUMERIC, BIGNUMERIC or FLOAT64 and NUMERIC to BIGNUMERIC; not what rounds, not DATE to TIMESTAMP', () => {
    for (const [from, to] of [
      ['INT64', 'NUMERIC'],
      ['INT64', 'BIGNUMERIC'],
      ['INT64', 'FLOAT64'],
      ['NUMERIC', 'BIGNUMERIC'],
    ])
      expect(BIGQUERY_TYPES.widens(from!, to!)).toBe(true);
    for (const [from, to] of [
      ['NUMERIC', 'FLOAT64'],
      ['FLOAT64', 'INT64'],
      ['DATE', 'TIMESTAMP'],
      ['STRING', 'INT64'],
    ])
      expect(BIGQUERY_TYPES.widens(from!, to!)).toBe(false);
  });
});

describe('decideSchemaChange', () => {
  const table: Column[] = [
    { name: 'game_date', type: 'DATE' },
    { name: 'n', type: 'BIGINT' },
    { name: 'avg', type: 'INTEGER' },
    { name: 'tag', type: 'VARCHAR' },
  ];
  const p = sqlProcessor('P', 'out.p', 'SELECT 1');
  const strict: Processor = { ...p, onSchemaChange: 'fail' };

  it('add_columns: adds new columns, widens in place, keeps columns no longer yielded, writes narrower integers as they are', () => {
    const selected: Column[] = [
      { name: 'AVG', type: 'DOUBLE' },
      { name: 'game_date', type: 'DATE' },
      { name: 'n', type: 'INTEGER' },
      { name: 'extra', type: 'VARCHAR' },
    ];
    expect(decideSchemaChange(p, table, selected, DUCKDB_TYPES)).toEqual({
      ok: true,
      changes: [
        { kind: 'widen', name: 'avg', from: 'INTEGER', to: 'DOUBLE' },
        { kind: 'add', column: { name: 'extra', type: 'VARCHAR' } },
      ],
    });
    expect(decideSchemaChange(strict, table, [...table].reverse(), DUCKDB_TYPES)).toEqual({ ok: true, changes: [] });
    expect(decideSchemaChange(p, [], selected, DUCKDB_TYPES)).toEqual({ ok: true, changes: [] });
  });

  it('refuses another kind or a narrowing under either policy, and any difference under fail, data-independently', () => {
    const lossy = decideSchemaChange(
      p,
      table,
      [
        { name: 'game_date', type: 'DATE' },
        { name: 'avg', type: 'VARCHAR' },
        { name: 'tag', type: 'INTEGER' },
      ],
      DUCKDB_TYPES,
    );
    expect(lossy.ok).toBe(false);
    if (!lossy.ok) {
      expect(lossy.failure).toMatchObject({ category: 'PROCESSOR_ERROR', dataIndependent: true });
      expect(lossy.failure.message).toContain(
        'column avg of table out.p is INTEGER, but the SELECT now yields VARCHAR; column tag of table out.p is VARCHAR, but the SELECT now yields INTEGER',
      );
      expect(lossy.failure.message).toContain('(avg::INTEGER, tag::VARCHAR)');
      expect(lossy.failure.message).toContain('dag run --full-refresh --select P --range A..B');
    }
    // SMALLINT fits the INTEGER column as it is; UBIGINT values may not fit BIGINT, nor the other way round.
    const unsigned = decideSchemaChange(
      p,
      table,
      [
        { name: 'game_date', type: 'DATE' },
        { name: 'avg', type: 'SMALLINT' },
        { name: 'n', type: 'UBIGINT' },
      ],
      DUCKDB_TYPES,
    );
    expect(!unsigned.ok && unsigned.failure.message).toMatch(/^column n of table out\.p is BIGINT, but the SELECT now yields UBIGINT, and dag/);
    const widened = decideSchemaChange(strict, table, [...table.slice(0, 2), { name: 'avg', type: 'BIGINT' }, table[3]!], DUCKDB_TYPES);
    expect(!widened.ok && widened.failure.message).toContain(
      "the SELECT's columns differ from table out.p's (avg INTEGER → BIGINT) and P has on_schema_change: fail",
    );
  });
});

describe('--full-refresh ranges', () => {
  const box = source('box', 'raw.box');
  const P = sqlProcessor('P', 'out.p', 'SELECT 1', { upstream: [{ name: 'box', mapping: { kind: 'same' } }] });
  const snapshotWith = (present: number[], calendar?: number[]): Snapshot => ({
    calendar,
    tables: new Map([['P', { exists: present.length > 0, partitions: new Map(present.map((d) => [d, { rows: 1, version: 'v', changedAt: 1 }])) }]]),
    ledger: new Map(),
    failures: new Map(),
    stats: { queries: 0 },
  });
  const check = (processor: Processor, rangeStart: string, rangeEnd: string, snapshot: Snapshot, calendar?: string) =>
    checkFullRefresh(
      pipelineOf('/x', [box, processor], calendar),
      [processor],
      { start: day(rangeStart), end: day(rangeEnd) },
      snapshot,
      makeCalendar(snapshot.calendar),
    );

  it('requires the range to start at the first expected partition: the calendar on or after start:, start:, else the oldest partition held', () => {
    const games = days('2021-10-19..2021-10-30', '2021-11-02..2021-11-30');
    expect(check(P, '2021-10-19', '2021-11-30', snapshotWith([], games), 'box')).toEqual({ ok: true });
    expect(check(P, '2021-10-20', '2021-11-30', snapshotWith([], games), 'box')).toMatchObject({
      ok: false,
      range: { start: day('2021-10-19'), end: day('2021-11-30') },
    });
    const started = { ...P, start: day('2021-10-31') };
    // The calendar has no 10-31: the first expected partition is the next game day.
    expect(check(started, '2021-11-02', '2021-11-30', snapshotWith([], games), 'box')).toEqual({ ok: true });
    const late = check(started, '2021-11-03', '2021-11-30', snapshotWith([], games), 'box');
    expect(!late.ok && late.reasons[0]).toContain("its first expected partition is 2021-11-02 (the calendar's first day on or after its start: 2021-10-31)");
    expect(check(started, '2021-10-31', '2021-11-05', snapshotWith([]))).toEqual({ ok: true });
    expect(check(P, '2021-11-05', '2021-11-09', snapshotWith(days('2021-11-04..2021-11-06')))).toMatchObject({
      ok: false,
      range: { start: day('2021-11-04'), end: day('2021-11-09') },
    });
    expect(check(P, '2021-11-05', '2021-11-09', snapshotWith([]))).toEqual({ ok: true });
  });

  it('requires the range to reach the newest partition the table holds; refuses the calendar and self-readers outright', () => {
    const ends = check(P, '2021-11-01', '2021-11-03', snapshotWith(days('2021-11-01..2021-11-05')));
    expect(ends).toMatchObject({ ok: false, range: { start: day('2021-11-01'), end: day('2021-11-05') } });
    expect(!ends.ok && ends.reasons[0]).toContain(
      'its table holds partitions through 2021-11-05; dropping table out.p would lose partitions this run does not rebuild',
    );
    const calendarOne = check(P, '2021-11-01', '2021-11-05', snapshotWith([]), 'P');
    expect(calendarOne).toMatchObject({ ok: false, range: undefined });
    const selfReader = { ...P, upstream: [{ name: 'P', mapping: { kind: 'offset', offset: -1, unit: 'partitions' } } as const] };
    const refused = check(selfReader, '2021-11-01', '2021-11-05', snapshotWith([]));
    expect(!refused.ok && refused.reasons[0]).toContain('reads its own earlier partitions');
  });

  it('refreshes the processors --select names, not those + brings in', () => {
    const Q = sqlProcessor('Q', 'out.q', 'SELECT 1', { upstream: [{ name: 'P', mapping: { kind: 'same' } }] });
    const pipeline = pipelineOf('/x', [box, P, Q]);
    expect(refreshedProcessors(pipeline, 'P+').map((p) => p.name)).toEqual(['P']);
    expect(refreshedProcessors(pipeline, '+Q, P').map((p) => p.name)).toEqual(['P', 'Q']);
  });
});
