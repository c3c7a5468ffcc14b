/**
 * The nba example (pipeline.yaml at the project root, pipelines/nba/): the generator plants the seed's
 * realities deterministically, the file is valid without warnings, and every processor's SQL yields
 * rows only for its batch — the same rows whether a range is built in one batch or in several.
 * The SQL runs directly on DuckDB here (templates rendered with dag's own template module), so these
 * tests need no planner or runner; test/nba-e2e.test.ts runs the real `dag`.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPipeline } from '../src/config/load.js';
import { parseTemplate, renderTemplate } from '../src/core/template.js';
import { projectRoot, tempProject } from './support/cli.js';

const generator = join(projectRoot, 'pipelines', 'nba', 'generate.mjs');

function generate(db: string, ...args: string[]): string {
  const result = spawnSync(process.execPath, [generator, '--db', db, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`generate.mjs failed: ${result.stderr}`);
  return result.stdout;
}

async function query(db: string, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(db);
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(sql);
    return reader.getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('nba example data (pipelines/nba/generate.mjs)', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempProject({}, 'dag-nba-gen-');
  });

  it('is deterministic and idempotent: same content on every run', async () => {
    const a = join(dir, 'a.duckdb');
    const b = join(dir, 'b.duckdb');
    generate(a, '--quiet');
    generate(a, '--quiet'); // a second run over an existing file replaces it with the same rows
    generate(b, '--quiet');
    const hash = 'SELECT (SELECT sum(hash(s)) FROM raw.schedule s)::VARCHAR AS s, (SELECT sum(hash(b)) FROM raw.player_boxscores b)::VARCHAR AS b';
    expect(await query(a, hash)).toEqual(await query(b, hash));
  });

  it('plants the seed realities: season opens 2021-10-19, no games on Thanksgiving, 2021-11-10 box scores missing', async () => {
    const db = join(dir, 'season.duckdb');
    const out = generate(db);
    expect(out).toContain('2021-11-10 left out');
    const [days] = await query(
      db,
      `SELECT min(game_date)::VARCHAR AS first, max(game_date)::VARCHAR AS last,
      count(DISTINCT game_date) AS game_days, count(*) FILTER (WHERE game_date = DATE '2021-11-25') AS thanksgiving,
      (SELECT count(*) FROM raw.player_boxscores WHERE game_date = DATE '2021-11-10') AS gap_lines,
      (SELECT count(*) FROM raw.schedule WHERE game_date = DATE '2021-11-10') AS gap_games
      FROM raw.schedule`,
    );
    expect(days).toEqual({
      first: '2021-10-19',
      last: '2021-12-15',
      game_days: '57',
      thanksgiving: '0',
      gap_lines: '0',
      gap_games: expect.not.stringMatching(/^0$/),
    });
    const perDay = await query(db, 'SELECT min(n) AS lo, max(n) AS hi FROM (SELECT count(*) AS n FROM raw.schedule GROUP BY game_date)');
    expect(perDay).toEqual([{ lo: '7', hi: '12' }]);
    // No team plays twice on one day.
    const twice = await query(
      db,
      `SELECT count(*) AS n FROM (SELECT game_date, team FROM (
      SELECT game_date, home_team AS team FROM raw.schedule UNION ALL SELECT game_date, away_team FROM raw.schedule)
      GROUP BY ALL HAVING count(*) > 1)`,
    );
    expect(twice).toEqual([{ n: '0' }]);
    // Every zone's makes are at most its attempts.
    const bad = await query(
      db,
      `SELECT count(*) AS n FROM raw.player_boxscores WHERE ra_made > ra_att OR paint_made > paint_att
      OR mid_made > mid_att OR corner3_made > corner3_att OR ab3_made > ab3_att`,
    );
    expect(bad).toEqual([{ n: '0' }]);
  });

  it('--gap none plants no gap and changes nothing else', async () => {
    const gap = join(dir, 'gap.duckdb');
    const full = join(dir, 'full.duckdb');
    generate(gap, '--quiet');
    generate(full, '--quiet', '--gap', 'none');
    const sum = (where: string): string => `SELECT count(*)::VARCHAR AS n, sum(hash(b))::VARCHAR AS h FROM raw.player_boxscores b WHERE ${where}`;
    expect(await query(full, sum("game_date = DATE '2021-11-10'"))).not.toEqual([{ n: '0', h: null }]);
    expect(await query(full, sum("game_date <> DATE '2021-11-10'"))).toEqual(await query(gap, sum("game_date <> DATE '2021-11-10'")));
  });

  it('rejects a bad option with one line and exit 1', () => {
    const result = spawnSync(process.execPath, [generator, '--db', join(dir, 'x.duckdb'), '--end', '2021-13-01'], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('--end 2021-13-01');
  });
});

describe('nba example pipeline (pipeline.yaml and pipelines/nba/sql)', () => {
  it('the root pipeline.yaml is valid with no warnings, and exercises same, offset and lookback with min', async () => {
    const outcome = await loadPipeline({ cwd: projectRoot });
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.diagnostics, null, 2));
    expect(outcome.diagnostics).toEqual([]);
    const kinds = outcome.pipeline.processors.flatMap((p) =>
      p.upstream.map((u) => (u.mapping.kind === 'lookback' && u.mapping.min !== undefined ? 'lookback-min' : u.mapping.kind)),
    );
    expect(new Set(kinds)).toEqual(new Set(['same', 'offset', 'lookback', 'lookback-min']));
    expect(outcome.pipeline.calendar).toBe('schedule');
    expect(outcome.pipeline.processors.map((p) => p.name)).toEqual(['TDZA', 'PSZA', 'PDC', 'PCF', 'MLFS']);
  });

  it('each SELECT yields rows only inside its batch, the same rows in one batch or in several', async () => {
    const outcome = await loadPipeline({ cwd: projectRoot });
    if (!outcome.ok) throw new Error('pipeline.yaml is invalid');
    const pipeline = outcome.pipeline;
    const dir = tempProject({}, 'dag-nba-sql-');
    const db = join(dir, 'nba.duckdb');
    generate(db, '--quiet');
    const instance = await DuckDBInstance.create(db);
    const connection: DuckDBConnection = await instance.connect();
    const tableOf = (name: string): string => {
      const node = pipeline.nodes.get(name);
      if (!node) throw new Error(`unknown ${name}`);
      return `"${node.table.schema}"."${node.table.name}"`;
    };
    const render = (text: string, start: string, end: string): string =>
      renderTemplate(parseTemplate(text), { startDate: `DATE '${start}'`, endDate: `DATE '${end}'`, self: '', ref: tableOf });
    const rows = async (sql: string): Promise<Record<string, unknown>[]> =>
      (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
    try {
      // Build each processor over the whole season in one batch (topological order), then check that a
      // batch in the middle — 2021-11-08..2021-11-12, across the missing 11-10 — yields exactly its own rows.
      for (const processor of pipeline.processors) {
        if (processor.action.kind !== 'sql') throw new Error(`${processor.name} is not SQL`);
        await connection.run(`CREATE SCHEMA IF NOT EXISTS "${processor.table.schema}"`);
        const whole = render(processor.action.text, '2021-10-19', '2021-12-15');
        await connection.run(`CREATE OR REPLACE TABLE ${tableOf(processor.name)} AS ${whole}`);
        const column = `"${processor.partitionColumn}"`;
        const batch = render(processor.action.text, '2021-11-08', '2021-11-12');
        const [outside] = await rows(`SELECT count(*) AS n FROM (${batch}) WHERE ${column} NOT BETWEEN DATE '2021-11-08' AND DATE '2021-11-12'`);
        expect(outside, processor.name).toEqual({ n: '0' });
        const [diff] = await rows(`SELECT count(*) AS n FROM (
          (SELECT * FROM (${batch}) EXCEPT ALL SELECT * FROM ${tableOf(processor.name)} WHERE ${column} BETWEEN DATE '2021-11-08' AND DATE '2021-11-12')
          UNION ALL
          (SELECT * FROM ${tableOf(processor.name)} WHERE ${column} BETWEEN DATE '2021-11-08' AND DATE '2021-11-12' EXCEPT ALL SELECT * FROM (${batch})))`);
        expect(diff, processor.name).toEqual({ n: '0' });
        const [built] = await rows(`SELECT count(*) AS n, count(DISTINCT ${column}) AS days FROM ${tableOf(processor.name)}`);
        expect(Number(built?.n), processor.name).toBeGreaterThan(1000);
      }
      // The missing scrape: nothing for PDC (and so PCF, MLFS) on 2021-11-10; TDZA and PSZA still have rows.
      const [gap] = await rows(`SELECT
        (SELECT count(*) FROM ${tableOf('PDC')} WHERE game_date = DATE '2021-11-10') AS pdc,
        (SELECT count(*) FROM ${tableOf('TDZA')} WHERE game_date = DATE '2021-11-10') AS tdza,
        (SELECT count(*) FROM ${tableOf('PSZA')} WHERE analysis_date = DATE '2021-11-10') AS psza`);
      expect(gap?.pdc).toBe('0');
      expect(Number(gap?.tdza)).toBeGreaterThan(0);
      expect(Number(gap?.psza)).toBeGreaterThan(0);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});
