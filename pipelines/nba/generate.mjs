#!/usr/bin/env node
/**
 * Writes the nba example's raw sources into a DuckDB file, deterministically, with no downloads:
 *
 *   raw.schedule          one row per game (game days only; no games on Thanksgiving 2021-11-25)
 *   raw.player_boxscores  one row per player per game: minutes, usage, shot-zone attempts and makes
 *
 * The data imitates the first two months of the 2021-22 NBA season (2021-10-19..2021-12-15). It plants
 * the operator's realities from the seed log: the season starts on 2021-10-19, so the 10-game lookbacks
 * have too little history at first; and one game day's box-score scrape is missing (2021-11-10: the
 * schedule has games, the box scores have none).
 *
 * Idempotent: every run replaces both tables with the same rows (same seed, same content hash), so a
 * second run changes nothing that dag would notice.
 *
 *   node pipelines/nba/generate.mjs [--db PATH] [--gap DATE|none] [--bad-day DATE] [--end DATE] [--quiet]
 *
 * --db    the DuckDB file (default: .dag/nba.duckdb next to the repo's pipeline.yaml)
 * --gap   the game day whose box scores are left out (default 2021-11-10; `none` plants no gap)
 * --bad-day  a game day whose box scores hold one player's line twice (a double scrape): PDC's
 *          unique check fails that day, so it is not committed and its readers are blocked
 * --end   the last day generated (default 2021-12-15); the season always starts on 2021-10-19
 */
import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DuckDBInstance, dateValue } from '@duckdb/node-api';

const SEASON_START = '2021-10-19';
const DEFAULT_END = '2021-12-15';
const DEFAULT_GAP = '2021-11-10';
/** No NBA games were played on Thanksgiving 2021: a day that is not on the calendar at all. */
const NO_GAME_DAYS = new Set(['2021-11-25']);
const SEED = 20211019;

const TEAMS = [
  'ATL', 'BOS', 'BKN', 'CHA', 'CHI', 'CLE', 'DAL', 'DEN', 'DET', 'GSW',
  'HOU', 'IND', 'LAC', 'LAL', 'MEM', 'MIA', 'MIL', 'MIN', 'NOP', 'NYK',
  'OKC', 'ORL', 'PHI', 'PHX', 'POR', 'SAC', 'SAS', 'TOR', 'UTA', 'WAS',
];
const FIRST = ['Alex', 'Ben', 'Chris', 'Dario', 'Evan', 'Femi', 'Gary', 'Hugo', 'Ivan', 'Jalen', 'Kofi', 'Luka',
  'Malik', 'Nate', 'Omar', 'Pat', 'Quinn', 'Rudy', 'Sam', 'Tariq', 'Udo', 'Victor', 'Will', 'Xavier', 'Yuri', 'Zach'];
const LAST = ['Adams', 'Baker', 'Cole', 'Diallo', 'Evans', 'Fox', 'Green', 'Hart', 'Ingram', 'Jones', 'King', 'Lowe',
  'Mills', 'Nance', 'Okafor', 'Payne', 'Quick', 'Reed', 'Smith', 'Tate', 'Udoka', 'Vance', 'Walker', 'Young'];

/** Shot zones, in column order: restricted area, paint (non-RA), mid-range, corner 3, above-the-break 3. */
const ZONES = ['ra', 'paint', 'mid', 'corner3', 'ab3'];
const ZONE_POINTS = [2, 2, 2, 3, 3];
const ZONE_ACCURACY = [[0.56, 0.7], [0.36, 0.48], [0.35, 0.46], [0.33, 0.43], [0.3, 0.39]];
/** Shot mix by archetype (weights per zone, before per-player noise). */
const ARCHETYPES = {
  big: [0.45, 0.25, 0.12, 0.06, 0.12],
  wing: [0.2, 0.12, 0.16, 0.2, 0.32],
  guard: [0.22, 0.1, 0.2, 0.08, 0.4],
};

/** mulberry32: a tiny seeded PRNG, so the data is identical on every machine and every run. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MS_PER_DAY = 86_400_000;
const toDay = (iso) => Math.round(Date.parse(`${iso}T00:00:00Z`) / MS_PER_DAY);
const toIso = (day) => new Date(day * MS_PER_DAY).toISOString().slice(0, 10);

function makeRosters(random) {
  const between = ([lo, hi]) => lo + (hi - lo) * random();
  const rosters = new Map();
  const defense = new Map();
  for (const team of TEAMS) {
    defense.set(team, ZONES.map(() => 0.9 + 0.2 * random()));
    const players = [];
    for (let i = 0; i < 13; i++) {
      const role = i < 5 ? 'starter' : i < 9 ? 'rotation' : 'bench';
      const archetype = i % 5 === 4 || i % 7 === 3 ? 'big' : i % 2 === 0 ? 'guard' : 'wing';
      players.push({
        id: `${team}-${String(i + 1).padStart(2, '0')}`,
        name: `${FIRST[Math.floor(random() * FIRST.length)]} ${LAST[Math.floor(random() * LAST.length)]}`,
        minutes: role === 'starter' ? between([29, 36]) : role === 'rotation' ? between([17, 26]) : between([5, 13]),
        usage: role === 'starter' ? between([0.19, 0.31]) : between([0.13, 0.22]),
        dnp: role === 'starter' ? 0.04 : role === 'rotation' ? 0.08 : 0.35,
        mix: ARCHETYPES[archetype].map((w) => w * (0.7 + 0.6 * random())),
        accuracy: ZONE_ACCURACY.map(between),
      });
    }
    rosters.set(team, players);
  }
  return { rosters, defense };
}

/** 7 to 12 games a game day, favouring the teams that have played least so far. */
function makeSchedule(random, startDay, endDay) {
  const played = new Map(TEAMS.map((t) => [t, 0]));
  const games = [];
  for (let day = startDay; day <= endDay; day++) {
    if (NO_GAME_DAYS.has(toIso(day))) continue;
    const count = 7 + Math.floor(random() * 6);
    const order = TEAMS.map((t) => ({ t, key: played.get(t) + random() * 1.5 })).sort((a, b) => a.key - b.key);
    const teams = order.slice(0, count * 2).map((o) => o.t);
    for (let g = 0; g < count; g++) {
      const [home, away] = random() < 0.5 ? [teams[2 * g], teams[2 * g + 1]] : [teams[2 * g + 1], teams[2 * g]];
      played.set(home, played.get(home) + 1);
      played.set(away, played.get(away) + 1);
      games.push({ id: `00221${String(games.length + 1).padStart(5, '0')}`, day, home, away });
    }
  }
  return games;
}

function binomial(random, n, p) {
  let k = 0;
  for (let i = 0; i < n; i++) if (random() < p) k++;
  return k;
}

function weightedPick(random, weights) {
  const total = weights.reduce((a, b) => a + b, 0);
  let x = random() * total;
  for (let i = 0; i < weights.length; i++) {
    x -= weights[i];
    if (x < 0) return i;
  }
  return weights.length - 1;
}

/** One team's box score lines in one game. */
function teamBoxscore(random, game, team, opponent, roster, opponentDefense) {
  const active = roster.filter((p) => random() >= p.dnp);
  const raw = active.map((p) => p.minutes * (0.85 + 0.3 * random()));
  const scale = 240 / raw.reduce((a, b) => a + b, 0);
  const lines = active.map((p, i) => {
    const minutes = Math.round(raw[i] * scale * 10) / 10;
    const fga = Math.max(0, Math.round((minutes / 48) * p.usage * 80 * (0.75 + 0.5 * random())));
    const att = [0, 0, 0, 0, 0];
    for (let s = 0; s < fga; s++) att[weightedPick(random, p.mix)]++;
    const made = att.map((n, z) => binomial(random, n, Math.min(0.95, p.accuracy[z] * opponentDefense[z])));
    const fta = Math.round(fga * 0.25 * (0.5 + random()));
    const ftm = binomial(random, fta, 0.77);
    const tov = Math.round((minutes / 48) * 2.4 * (0.5 + random()));
    const points = made.reduce((sum, m, z) => sum + m * ZONE_POINTS[z], ftm);
    return { p, minutes, fga, fta, ftm, tov, points, att, made };
  });
  // Usage rate: the share of team possessions a player used while on the floor (basketball-reference formula).
  const teamPoss = lines.reduce((s, l) => s + l.fga + 0.44 * l.fta + l.tov, 0);
  return lines.map((l) => ({
    ...l,
    usage: l.minutes > 0 && teamPoss > 0 ? Math.round(((100 * (l.fga + 0.44 * l.fta + l.tov) * 48) / (l.minutes * teamPoss)) * 10) / 10 : 0,
    game,
    team,
    opponent,
  }));
}

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      db: { type: 'string' },
      gap: { type: 'string', default: DEFAULT_GAP },
      'bad-day': { type: 'string' },
      end: { type: 'string', default: DEFAULT_END },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const here = dirname(fileURLToPath(import.meta.url));
  const db = resolve(values.db ?? resolve(here, '../../.dag/nba.duckdb'));
  const isDate = (text) => /^\d{4}-\d{2}-\d{2}$/.test(text) && Number.isFinite(toDay(text)) && toIso(toDay(text)) === text;
  if (!isDate(values.end) || values.end < SEASON_START)
    throw new Error(`--end ${values.end}: give a date like 2021-12-15, on or after ${SEASON_START}`);
  if (values.gap !== 'none' && !isDate(values.gap))
    throw new Error(`--gap ${values.gap}: give a date like 2021-11-10, or "none"`);
  const badDay = values['bad-day'];
  if (badDay !== undefined && !isDate(badDay)) throw new Error(`--bad-day ${badDay}: give a game day like 2021-11-17`);
  return { db, gap: values.gap === 'none' ? undefined : values.gap, badDay, end: values.end, quiet: values.quiet, help: values.help };
}

async function write(db, schedule, boxscores) {
  mkdirSync(dirname(db), { recursive: true });
  const instance = await DuckDBInstance.create(db);
  const connection = await instance.connect();
  try {
    await connection.run('BEGIN TRANSACTION');
    await connection.run('CREATE SCHEMA IF NOT EXISTS raw');
    await connection.run(`CREATE OR REPLACE TABLE raw.schedule (
      game_id VARCHAR NOT NULL, game_date DATE NOT NULL, home_team VARCHAR NOT NULL, away_team VARCHAR NOT NULL)`);
    await connection.run(`CREATE OR REPLACE TABLE raw.player_boxscores (
      game_id VARCHAR NOT NULL, game_date DATE NOT NULL, team VARCHAR NOT NULL, opponent VARCHAR NOT NULL,
      player_id VARCHAR NOT NULL, player_name VARCHAR NOT NULL, minutes DOUBLE NOT NULL, points INTEGER NOT NULL,
      fga INTEGER NOT NULL, fta INTEGER NOT NULL, ftm INTEGER NOT NULL, tov INTEGER NOT NULL, usage_pct DOUBLE NOT NULL,
      ra_att INTEGER NOT NULL, ra_made INTEGER NOT NULL, paint_att INTEGER NOT NULL, paint_made INTEGER NOT NULL,
      mid_att INTEGER NOT NULL, mid_made INTEGER NOT NULL, corner3_att INTEGER NOT NULL, corner3_made INTEGER NOT NULL,
      ab3_att INTEGER NOT NULL, ab3_made INTEGER NOT NULL)`);
    const games = await connection.createAppender('schedule', 'raw');
    for (const g of schedule) {
      games.appendVarchar(g.id);
      games.appendDate(dateValue(g.day));
      games.appendVarchar(g.home);
      games.appendVarchar(g.away);
      games.endRow();
    }
    games.closeSync();
    const lines = await connection.createAppender('player_boxscores', 'raw');
    for (const l of boxscores) {
      lines.appendVarchar(l.game.id);
      lines.appendDate(dateValue(l.game.day));
      lines.appendVarchar(l.team);
      lines.appendVarchar(l.opponent);
      lines.appendVarchar(l.p.id);
      lines.appendVarchar(l.p.name);
      lines.appendDouble(l.minutes);
      for (const n of [l.points, l.fga, l.fta, l.ftm, l.tov]) lines.appendInteger(n);
      lines.appendDouble(l.usage);
      for (let z = 0; z < ZONES.length; z++) {
        lines.appendInteger(l.att[z]);
        lines.appendInteger(l.made[z]);
      }
      lines.endRow();
    }
    lines.closeSync();
    await connection.run('COMMIT');
  } catch (error) {
    await connection.run('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The file relative to the working directory when it lies inside it. */
function shown(file) {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  if (options.help) {
    console.log('usage: node pipelines/nba/generate.mjs [--db PATH] [--gap DATE|none] [--bad-day DATE] [--end DATE] [--quiet]');
    return;
  }
  const random = prng(SEED);
  const { rosters, defense } = makeRosters(random);
  const schedule = makeSchedule(random, toDay(SEASON_START), toDay(options.end));
  const boxscores = [];
  for (const game of schedule) {
    // Generated even for the gap day, so planting the gap changes nothing else in the data.
    const lines = [
      ...teamBoxscore(random, game, game.home, game.away, rosters.get(game.home), defense.get(game.away)),
      ...teamBoxscore(random, game, game.away, game.home, rosters.get(game.away), defense.get(game.home)),
    ];
    if (toIso(game.day) !== options.gap) boxscores.push(...lines);
    // The double scrape: the day's first line once more (only once, whatever the number of games).
    if (toIso(game.day) === options.badDay && !boxscores.some((l) => l.duplicate)) boxscores.push({ ...lines[0], duplicate: true });
  }
  if (options.badDay !== undefined && !boxscores.some((l) => l.duplicate)) throw new Error(`--bad-day ${options.badDay}: no games that day`);
  await write(options.db, schedule, boxscores);
  if (!options.quiet) {
    const days = new Set(schedule.map((g) => g.day)).size;
    console.log(
      `nba example data: ${schedule.length} games on ${days} game days (${SEASON_START}..${options.end}), ` +
        `${boxscores.length} box-score lines` +
        (options.gap ? `; box scores of ${options.gap} left out (a missing scrape)` : '') +
        (options.badDay ? `; one line of ${options.badDay} written twice (a double scrape)` : '') +
        ` → ${shown(options.db)}`,
    );
  }
}

main().catch((error) => {
  console.error(`generate.mjs: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
