/**
 * The schema-change scenarios of DESIGN §8, written once and run through the real CLI on each target
 * (test/schema-change.test.ts: a DuckDB file; test/bigquery-schema-change.test.ts: BigQuery through
 * test/bq-server). One pipeline, src → P → Q; P's SQL changes step by step, each step building one
 * day, so what older partitions hold after a change stays visible.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { looksLikeStackTrace, type DagResult } from './cli.js';

export interface SchemaProject {
  readonly dir: string;
  dag(args: readonly string[]): Promise<DagResult>;
  /** The table's columns and their types, in the target's names, in table order. */
  columns(table: string): Promise<[string, string][]>;
  /** Per day (ISO), the given columns of the table as text (NULL as null). */
  values(table: string, columns: readonly string[]): Promise<Map<string, (string | null)[]>>;
  /** Days with a ledger row for the processor, ascending. */
  ledgerDays(processor: string): Promise<string[]>;
  /** Rewrites pipeline.yaml: the target's head, then `processors` (YAML from `processors:` on). */
  setProcessors(processors: string): void;
}

export interface SchemaTarget {
  readonly name: string;
  /** The target's names of an integer, a floating-point and a text type (as SQL casts and its catalog spell them). */
  readonly types: { readonly int: string; readonly float: string; readonly text: string };
  /** Whether a DATE column widens to TIMESTAMP in place (DuckDB: yes; BigQuery: no such coercion). */
  readonly dateToTimestamp: boolean;
  /**
   * A project in a temp folder: pipeline.yaml (the target's head, then `processors`), the files, and
   * source `src` (table raw.src: d DATE, id, payload; day i of 2021-11 has (i-1) % 3 + 1 rows) over `days` days.
   */
  project(processors: string, files: Readonly<Record<string, string>>, days: number): Promise<SchemaProject>;
  /** Removes what project() made. */
  cleanup(): Promise<void>;
}

const PROCESSORS = (policy = '') => `processors:
  P:
    table: p.p
    upstream: [src]
    sql: sql/p.sql
${policy}  Q:
    table: q.q
    upstream: [P]
    sql: sql/q.sql
`;

const Q_SQL = "SELECT d, COUNT(*) AS p_rows FROM {{ ref('P') }} WHERE d BETWEEN {{ start_date }} AND {{ end_date }} GROUP BY d\n";

const day = (n: number): string => `2021-11-${String(n).padStart(2, '0')}`;
const range = (from: number, to = from): string => `${day(from)}..${day(to)}`;

type RunJson = {
  outcome: string;
  processors: { name: string; built: string[]; failed: { date: string; category: string; message: string }[] }[];
  totals: { built: number; failed: number; jobs: number };
};

function runJson(result: DagResult): RunJson {
  try {
    return JSON.parse(result.stdout) as RunJson;
  } catch {
    throw new Error(`no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}

const processor = (json: RunJson, name: string) => json.processors.find((p) => p.name === name) ?? { name, built: [], failed: [] };

export function schemaChangeScenarios(target: SchemaTarget): void {
  const { int, float, text } = target.types;
  const sql = (...columns: string[]) =>
    `SELECT ${columns.join(', ')}\nFROM {{ ref('src') }}\nWHERE d BETWEEN {{ start_date }} AND {{ end_date }}\nGROUP BY d\n`;
  const N = `CAST(COUNT(*) AS ${int}) AS n`;
  const N_FLOAT = `CAST(COUNT(*) AS ${float}) / 3 AS n`;
  const TAG = `CAST('a' AS ${text}) AS tag`;
  const EXTRA = `CAST(COUNT(*) * 10 AS ${int}) AS extra`;

  describe(`schema changes on ${target.name} (DESIGN §8)`, () => {
    it('adds, keeps, reorders by name, widens losslessly, refuses lossy changes and on_schema_change: fail before writing, and --full-refresh rebuilds', async () => {
      const project = await target.project(PROCESSORS(), { 'sql/p.sql': sql('d', N, TAG), 'sql/q.sql': Q_SQL }, 10);
      const setSql = (text: string) => writeFileSync(join(project.dir, 'sql', 'p.sql'), text);
      const setPolicy = (policy: string) => project.setProcessors(PROCESSORS(policy));
      const dag = async (args: readonly string[]) => {
        const result = await project.dag(args);
        expect(looksLikeStackTrace(result.stdout + result.stderr), result.stderr).toBe(false);
        return result;
      };
      const run = async (args: readonly string[], code = 0) => {
        const result = await dag(['run', '--json', ...args]);
        expect(result.code, result.stderr + result.stdout).toBe(code);
        return runJson(result);
      };

      await run(['--range', range(1, 2)]);
      expect(await project.columns('p.p')).toEqual([
        ['d', 'DATE'],
        ['n', int],
        ['tag', text],
      ]);

      // A new column is added; the partitions built before hold NULL in it.
      setSql(sql('d', N, TAG, EXTRA));
      await run(['--select', 'P', '--range', range(3)]);
      expect(await project.columns('p.p')).toEqual([
        ['d', 'DATE'],
        ['n', int],
        ['tag', text],
        ['extra', int],
      ]);

      // Two columns of one type swapped in the SELECT: each value lands in its own column.
      setSql(sql('d', EXTRA, N, TAG));
      await run(['--select', 'P', '--range', range(5)]);

      // A column the SELECT no longer yields stays, NULL in the new partitions.
      setSql(sql('d', EXTRA, N));
      await run(['--select', 'P', '--range', range(6)]);
      expect(await project.values('p.p', ['n', 'tag', 'extra'])).toEqual(
        new Map([
          [day(1), ['1', 'a', null]],
          [day(2), ['2', 'a', null]],
          [day(3), ['3', 'a', '30']],
          [day(5), ['2', 'a', '20']],
          [day(6), ['3', null, '30']],
        ]),
      );

      // INTEGER → DOUBLE (INT64 → FLOAT64) widens the column in place: old values exact, 0.33 stays 0.33.
      const widened = sql('d', EXTRA, N_FLOAT);
      setSql(widened);
      await run(['--select', 'P', '--range', range(4)]);
      expect(await project.columns('p.p')).toEqual([
        ['d', 'DATE'],
        ['n', float],
        ['tag', text],
        ['extra', int],
      ]);
      const afterWidening = await project.values('p.p', ['n']);
      expect(Number(afterWidening.get(day(4))?.[0])).toBeCloseTo(1 / 3, 10);
      expect(Number(afterWidening.get(day(3))?.[0])).toBe(3);

      // A lossy or unrelated type change fails before anything is written, naming column, both types and the way out.
      setSql(sql('d', `CAST(COUNT(*) * 10 AS ${text}) AS extra`, N));
      const ledgerBefore = await project.ledgerDays('P');
      const lossy = await run(['--select', 'P', '--range', range(7)], 1);
      const failure = processor(lossy, 'P').failed[0];
      expect(failure?.category).toBe('PROCESSOR_ERROR');
      expect(failure?.message).toContain(`column extra of table p.p is ${int}, but the SELECT now yields ${text}`);
      expect(failure?.message).toContain(`column n of table p.p is ${float}, but the SELECT now yields ${int}`);
      expect(failure?.message).toContain('nothing was written');
      expect(failure?.message).toContain('dag run --full-refresh --select P --range A..B');
      expect(await project.columns('p.p')).toEqual([
        ['d', 'DATE'],
        ['n', float],
        ['tag', text],
        ['extra', int],
      ]);
      expect([...(await project.values('p.p', ['n'])).keys()]).not.toContain(day(7));
      expect(await project.ledgerDays('P')).toEqual(ledgerBefore);

      // on_schema_change is not part of the code fingerprint: switching it rebuilds nothing.
      setSql(widened);
      const fresh = async () => JSON.parse((await dag(['plan', '--select', 'P', '--range', range(4), '--json'])).stdout).summary.build as number;
      expect(await fresh()).toBe(0);
      setPolicy('    on_schema_change: fail\n');
      expect(await fresh()).toBe(0);

      // on_schema_change: fail refuses any difference (a new column; a column no longer yielded)...
      setSql(sql('d', EXTRA, N_FLOAT, `CAST(1 AS ${int}) AS more`));
      const strict = processor(await run(['--select', 'P', '--range', range(7)], 1), 'P').failed[0];
      expect(strict?.message).toContain("the SELECT's columns differ from table p.p's (new column more");
      expect(strict?.message).toContain('column tag no longer yielded');
      expect(strict?.message).toContain('P has on_schema_change: fail; nothing was written');
      // ...but not a SELECT that yields the table's columns in another order.
      setSql(sql(TAG, N_FLOAT, 'd', EXTRA));
      await run(['--select', 'P', '--range', range(7)]);
      expect((await project.values('p.p', ['n', 'tag', 'extra'])).get(day(7))).toEqual([expect.stringMatching(/^0\.333/), 'a', '10']);
      setPolicy('');

      // A batch that fails after deciding to add a column (rows outside its range) leaves the old columns.
      setSql(`SELECT d, CAST(1 AS ${int}) AS more, ${N_FLOAT}, ${EXTRA} FROM {{ ref('src') }} GROUP BY d\n`);
      const leaky = processor(await run(['--select', 'P', '--range', range(8)], 1), 'P').failed[0];
      expect(leaky?.category).toBe('OUT_OF_RANGE_ROWS');
      expect(await project.columns('p.p')).toEqual([
        ['d', 'DATE'],
        ['n', float],
        ['tag', text],
        ['extra', int],
      ]);

      // DATE → TIMESTAMP: widened on DuckDB; BigQuery has no such coercion, so it is a refused type change.
      setSql(sql('d', N_FLOAT, `MIN(d) AS seen`));
      await run(['--select', 'P', '--range', range(9)]);
      setSql(sql('d', N_FLOAT, `CAST(MIN(d) AS TIMESTAMP) AS seen`));
      const dated = await run(['--select', 'P', '--range', range(10)], target.dateToTimestamp ? 0 : 1);
      if (target.dateToTimestamp) expect(await project.columns('p.p')).toContainEqual(['seen', 'TIMESTAMP']);
      else expect(processor(dated, 'P').failed[0]?.message).toContain('column seen of table p.p is DATE, but the SELECT now yields TIMESTAMP');

      // The way out: --full-refresh. Refused without --select, or with a range that does not cover P.
      setSql(sql('d', N, `CAST(COUNT(*) * 10 AS ${text}) AS extra`));
      const noSelect = await dag(['run', '--full-refresh', '--range', range(1, 10)]);
      expect(noSelect.code).toBe(2);
      expect(noSelect.stderr).toContain('--full-refresh needs --select');
      const late = await dag(['run', '--full-refresh', '--select', 'P', '--range', range(3, 10)]);
      expect(late.code).toBe(2);
      expect(late.stderr).toContain(
        `dag: --full-refresh: the range ${range(3, 10)} does not cover P's partitions: its first expected partition is ${day(1)} (the oldest partition its table holds)`,
      );
      expect(late.stderr).toContain('Nothing was dropped.');
      expect(late.stderr).toContain(`hint: run dag run --full-refresh --select P --range ${range(1, 10)}`);
      const early = await dag(['run', '--full-refresh', '--select', 'P', '--range', range(1, 5)]);
      expect(early.code).toBe(2);
      expect(early.stderr).toContain(`its table holds partitions through ${day(target.dateToTimestamp ? 10 : 9)}`);
      expect(await project.columns('p.p')).toContainEqual(['extra', int]);

      const refreshed = await run(['--full-refresh', '--select', 'P', '--range', range(1, 10)]);
      expect(processor(refreshed, 'P').built).toHaveLength(10);
      expect(await project.columns('p.p')).toEqual([
        ['d', 'DATE'],
        ['n', int],
        ['extra', text],
      ]);
      expect((await project.values('p.p', ['n', 'extra'])).get(day(4))).toEqual(['1', '10']);
      // Q, not selected, read the partitions P had before: stale now, because they were rebuilt.
      const q = JSON.parse((await dag(['plan', '--select', 'Q', '--range', range(1, 2), '--json'])).stdout) as {
        processors: { name: string; partitions: { status: string; reasons?: { kind: string; upstream?: string }[] }[] }[];
      };
      const qPartitions = q.processors.find((p) => p.name === 'Q')?.partitions ?? [];
      expect(qPartitions.map((p) => p.status)).toEqual(['stale', 'stale']);
      expect(qPartitions.every((p) => p.reasons?.some((r) => r.upstream === 'P'))).toBe(true);
      // --select P+ refreshes P alone and rebuilds its readers in the same run.
      const withReaders = await run(['--full-refresh', '--select', 'P+', '--range', range(1, 10)]);
      expect(processor(withReaders, 'P').built).toHaveLength(10);
      expect(processor(withReaders, 'Q').built).toHaveLength(10);
    }, 240_000);

    it('a type change over 30 days costs one failure, not 30', async () => {
      const project = await target.project(PROCESSORS(), { 'sql/p.sql': sql('d', N), 'sql/q.sql': Q_SQL }, 30);
      await project.dag(['run', '--select', 'P', '--range', '2021-11-01..2021-11-30']);
      writeFileSync(join(project.dir, 'sql', 'p.sql'), sql('d', `CAST(COUNT(*) AS ${text}) AS n`));
      const result = runJson(await project.dag(['run', '--json', '--select', 'P', '--range', '2021-11-01..2021-11-30']));
      expect(result.totals.jobs).toBe(1);
      const failed = processor(result, 'P').failed;
      expect(failed).toHaveLength(30);
      expect(new Set(failed.map((f) => f.message)).size).toBe(1);
    }, 120_000);
  });
}
