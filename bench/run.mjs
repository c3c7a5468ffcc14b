#!/usr/bin/env node
// bench/run: a 5-processor × 60-day backfill on DuckDB, `dag run` (a whole CLI process) against the
// same SELECTs executed directly through @duckdb/node-api in one script (also a whole process, one
// transaction per batch, no ledger). Prints both wall times, their ratio and the number of jobs.
// Usage: npm run build && node bench/run.mjs [--rows-per-day 40000] [--repeat 3] [--checks] [--baseline DIR]
// --checks also times `dag run` with data checks on every processor (docs/checks.md) against the same
// run without them: what checks cost. --baseline DIR (a built dag checkout) times that checkout's
// `dag run` too, on the same files, interleaved run by run (with --checks: with and without checks), so
// a busy moment of this shared machine hits both alike.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const ROWS_PER_DAY = arg('--rows-per-day', 40_000);
const WITH_CHECKS = process.argv.includes('--checks');
// --no-direct skips the direct script (for a --checks or --baseline comparison that does not need it).
const DIRECT = !process.argv.includes('--no-direct');
const baselineAt = process.argv.indexOf('--baseline');
const BASELINE = baselineAt > 0 ? resolve(process.argv[baselineAt + 1]) : undefined;
const REPEAT = arg('--repeat', 3);
const DAYS = 60;
const BATCH = 31;
const START = '2021-10-01';
const END = new Date(Date.parse(START) + (DAYS - 1) * 86_400_000).toISOString().slice(0, 10);

const processors = [
  {
    name: 'P1',
    table: 'bench.p1',
    upstream: ['src'],
    checks: ['not_null: [d, player]', 'unique: [player]', 'row_count: { min: 1 }'],
    sql: "select d, k % 500 as player, count(*) as n, sum(v) as v from {{ ref('src') }} where d between {{ start_date }} and {{ end_date }} group by all",
  },
  {
    name: 'P2',
    table: 'bench.p2',
    upstream: ['src'],
    checks: ['not_null: [team]', 'unique: [team]', 'row_count: { min: 1 }'],
    sql: "select d, k % 30 as team, avg(v) as v, max(v) as top from {{ ref('src') }} where d between {{ start_date }} and {{ end_date }} group by all",
  },
  {
    name: 'P3',
    table: 'bench.p3',
    upstream: ['P1'],
    checks: ['not_null: [player, per]', 'unique: [player]', 'relationships: { column: player, to: P1, field: player }'],
    sql: "select d, player, v / n as per, rank() over (partition by d order by v desc) as r from {{ ref('P1') }} where d between {{ start_date }} and {{ end_date }}",
  },
  {
    name: 'P4',
    table: 'bench.p4',
    upstream: ['P3', 'P2'],
    checks: ['not_null: [player, team_v]', 'row_count: { min: 1 }'],
    sql: "select p.d, p.player, p.per, t.v as team_v from {{ ref('P3') }} p join {{ ref('P2') }} t on t.d = p.d and t.team = p.player % 30 where p.d between {{ start_date }} and {{ end_date }}",
  },
  {
    name: 'P5',
    table: 'bench.p5',
    upstream: ['P4'],
    checks: ['row_count: { min: 1, max: 1 }', 'accepted_values: { column: players, values: [500] }'],
    sql: "select d, count(*) as players, avg(per) as per, sum(team_v) as tv from {{ ref('P4') }} where d between {{ start_date }} and {{ end_date }} group by d",
  },
];

async function makePristine(dir, withChecks = false) {
  mkdirSync(join(dir, 'sql'), { recursive: true });
  mkdirSync(join(dir, '.dag'), { recursive: true });
  const lines = [
    'version: 1',
    'name: bench',
    'targets:',
    '  dev: { type: duckdb, path: .dag/bench.duckdb }',
    'default_target: dev',
    `defaults: { partition_column: d, batch_size: ${BATCH}, timeout: 10m }`,
    'sources:',
    '  src: { table: raw.src }',
    'processors:',
  ];
  for (const p of processors) {
    writeFileSync(join(dir, 'sql', `${p.name}.sql`), `${p.sql}\n`);
    lines.push(`  ${p.name}:`, `    table: ${p.table}`, `    upstream: [${p.upstream.join(', ')}]`, `    sql: sql/${p.name}.sql`);
    if (withChecks) lines.push('    checks:', ...p.checks.map((c) => `      - ${c}`));
  }
  writeFileSync(join(dir, 'pipeline.yaml'), `${lines.join('\n')}\n`);
  const instance = await DuckDBInstance.create(join(dir, '.dag', 'bench.duckdb'));
  const db = await instance.connect();
  await db.run('create schema raw');
  await db.run(
    `create table raw.src as select (DATE '${START}' + (i // ${ROWS_PER_DAY})::INTEGER) as d, (i * 7919) % 100000 as k, (i % 997)::DOUBLE as v from range(${DAYS * ROWS_PER_DAY}) t(i)`,
  );
  db.disconnectSync();
  instance.closeSync();
}

// The direct script: same rendered SELECTs, one transaction per batch, processors in order. It imports
// @duckdb/node-api as an ES module, as a script would; `viaRequire` loads it with require() instead,
// which skips Node's scan of the package for export names (dag bundles the package instead).
const directScript = (dbFile, viaRequire = false) => `
${viaRequire ? "import { createRequire } from 'node:module';\nconst { DuckDBInstance } = createRequire(import.meta.url)('@duckdb/node-api');" : "import { DuckDBInstance } from '@duckdb/node-api';"}
const processors = ${JSON.stringify(processors)};
const tables = { src: 'raw.src', ...Object.fromEntries(processors.map((p) => [p.name, p.table])) };
const instance = await DuckDBInstance.create(':memory:');
const db = await instance.connect();
// Attached under an alias, as dag does: the file is named like its schema (bench.duckdb holds bench).
await db.run("attach " + ${JSON.stringify(`'${dbFile}'`)} + " as w");
await db.run('use w');
await db.run('create schema if not exists bench');
const day = (ms) => new Date(ms).toISOString().slice(0, 10);
for (const p of processors) {
  let created = false;
  for (let s = Date.parse('${START}'); s <= Date.parse('${END}'); s += ${BATCH} * 86400000) {
    const e = Math.min(s + ${BATCH - 1} * 86400000, Date.parse('${END}'));
    const select = p.sql.replaceAll('{{ start_date }}', "DATE '" + day(s) + "'").replaceAll('{{ end_date }}', "DATE '" + day(e) + "'")
      .replace(/\\{\\{ ref\\('(\\w+)'\\) \\}\\}/g, (_, n) => tables[n]);
    await db.run('begin');
    if (!created) await db.run('create table ' + p.table + ' as ' + select);
    else { await db.run('delete from ' + p.table + " where d between DATE '" + day(s) + "' and DATE '" + day(e) + "'"); await db.run('insert into ' + p.table + ' ' + select); }
    await db.run('commit');
    created = true;
  }
}
db.disconnectSync();
instance.closeSync();
`;

// CPU time of the children this process waited for (user + system, every thread), from /proc: less
// sensitive than wall time to the other work of a shared machine. Clock ticks of 10 ms.
const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
function childCpuMs() {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) * TICK_MS;
}

function timeProcess(args, cwd) {
  const cpuBefore = childCpuMs();
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}${result.stdout.slice(0, 2000)}`);
  return { ms, cpuMs: childCpuMs() - cpuBefore, stdout: result.stdout };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const work = mkdtempSync(join(tmpdir(), 'dag-bench-run-'));
const pristine = join(work, 'pristine');
await makePristine(pristine);
const pristineChecks = join(work, 'pristine-checks');
if (WITH_CHECKS) await makePristine(pristineChecks, true);
// The first dag invocation after a build compiles its code and leaves V8's code cache for the next
// ones (bin/dag.js): time that once, apart, so the medians below are what every later run pays.
const cacheDir = join(root, 'dist', 'bundle', '.v8-cache');
rmSync(cacheDir, { recursive: true, force: true });
const coldDir = join(work, 'cold');
cpSync(pristine, coldDir, { recursive: true });
timeProcess([join(root, 'bin', 'dag.js'), 'plan', '--range', `${START}..${END}`], coldDir);
const coldMs = timeProcess([join(root, 'bin', 'dag.js'), 'run', '--range', `${START}..${END}`, '--json'], coldDir).ms;
const dagTimes = [];
const dagCpu = [];
const planTimes = [];
const directTimes = [];
const requireTimes = [];
const checkTimes = [];
const baseTimes = [];
const baseCheckTimes = [];
const loadBefore = loadavg()[0];
// The baseline's first run leaves its code cache, so its timed runs pay what dag's do.
if (BASELINE) {
  const warm = join(work, 'base-warm');
  cpSync(pristine, warm, { recursive: true });
  timeProcess([join(BASELINE, 'bin', 'dag.js'), 'run', '--range', `${START}..${END}`, '--json'], warm);
}
/** One `dag run` of `bin` (a checkout) on a fresh copy of `from`; its JSON result and wall time. */
const dagRun = (bin, from, name) => {
  const dir = join(work, name);
  cpSync(from, dir, { recursive: true });
  const run = timeProcess([join(bin, 'bin', 'dag.js'), 'run', '--range', `${START}..${END}`, '--json'], dir);
  return { ms: run.ms, cpuMs: run.cpuMs, json: JSON.parse(run.stdout) };
};
let jobs = 0;
let built = 0;
for (let i = 0; i < REPEAT; i++) {
  const a = join(work, `dag-${i}`);
  cpSync(pristine, a, { recursive: true });
  // What every dag invocation pays before building: load, open, snapshot (source content hashes), plan.
  planTimes.push(timeProcess([join(root, 'bin', 'dag.js'), 'plan', '--range', `${START}..${END}`], a).ms);
  const dag = timeProcess([join(root, 'bin', 'dag.js'), 'run', '--range', `${START}..${END}`, '--json'], a);
  const json = JSON.parse(dag.stdout);
  jobs = json.totals.jobs;
  built = json.totals.built;
  dagTimes.push(dag.ms);
  dagCpu.push(dag.cpuMs);
  if (WITH_CHECKS) {
    const checked = dagRun(root, pristineChecks, `checks-${i}`);
    if (checked.json.totals.built !== json.totals.built) throw new Error(`with checks: built ${checked.json.totals.built}, without: ${json.totals.built}`);
    checkTimes.push(checked);
  }
  if (BASELINE) {
    baseTimes.push(dagRun(BASELINE, pristine, `base-${i}`));
    if (WITH_CHECKS) baseCheckTimes.push(dagRun(BASELINE, pristineChecks, `base-checks-${i}`));
  }
  if (!DIRECT) continue;
  for (const [viaRequire, times] of [
    [false, directTimes],
    [true, requireTimes],
  ]) {
    const b = join(work, `direct-${i}-${viaRequire ? 'require' : 'import'}`);
    cpSync(pristine, b, { recursive: true });
    const script = join(root, 'bench', `.direct-${process.pid}.mjs`);
    writeFileSync(script, directScript(join(b, '.dag', 'bench.duckdb'), viaRequire));
    try {
      times.push(timeProcess([script], b).ms);
    } finally {
      rmSync(script, { force: true });
    }
  }
}
const dagMs = median(dagTimes);
const directMs = median(directTimes);
const expectedJobs = processors.length * Math.ceil(DAYS / BATCH);
const cpu = execFileSync('nproc', { encoding: 'utf8' }).trim();
console.log(
  `bench/run: ${processors.length} processors × ${DAYS} days, ${ROWS_PER_DAY.toLocaleString('en')} source rows/day, batch_size ${BATCH}, ${cpu} cores, median of ${REPEAT}`,
);
console.log(`  dag run (whole CLI process): ${dagMs.toFixed(0)} ms  [${dagTimes.map((t) => t.toFixed(0)).join(', ')}]`);
console.log(`  dag run, first after a build (no code cache yet): ${coldMs.toFixed(0)} ms`);
const planMs = median(planTimes);
console.log(`  dag plan alone (load + snapshot + plan, paid by every run): ${planMs.toFixed(0)} ms`);
if (DIRECT) {
  console.log(`  direct @duckdb/node-api:      ${directMs.toFixed(0)} ms  [${directTimes.map((t) => t.toFixed(0)).join(', ')}]`);
  const requireMs = median(requireTimes);
  console.log(`  direct, package via require(): ${requireMs.toFixed(0)} ms  [${requireTimes.map((t) => t.toFixed(0)).join(', ')}]`);
  console.log(`  ratio dag/direct: ${(dagMs / directMs).toFixed(2)} (target <= 1.15); dag/direct via require(): ${(dagMs / requireMs).toFixed(2)}`);
  console.log(`  building only, (dag run - dag plan) / direct: ${((dagMs - planMs) / directMs).toFixed(2)}`);
}
const ms = (runs) => runs.map((r) => r.ms);
const cpuMs = (runs) => runs.map((r) => r.cpuMs);
const list = (xs) => `[${xs.map((t) => t.toFixed(0)).join(', ')}]`;
const pct = (a, b) => `${(((a - b) / b) * 100).toFixed(1)}%`;
/** What the checks cost in `plain` → `checked` runs: of the median wall and CPU times, and the median of each pair's own difference. */
function checksCost(label, plain, checked) {
  const paired = median(checked.map((r, i) => (r.ms - plain[i].ms) / plain[i].ms));
  console.log(
    `  ${label} dag run with checks: ${median(ms(checked)).toFixed(0)} ms ${list(ms(checked))}, CPU ${median(cpuMs(checked)).toFixed(0)} ms ${list(cpuMs(checked))}`,
  );
  console.log(
    `  ${label} checks cost (target < 15%): wall ${pct(median(ms(checked)), median(ms(plain)))} (median of the pairs: ${(paired * 100).toFixed(1)}%), CPU ${pct(median(cpuMs(checked)), median(cpuMs(plain)))}`,
  );
}
const own = dagTimes.map((t, i) => ({ ms: t, cpuMs: dagCpu[i] }));
console.log(`  dag run CPU time (user + system, all threads): ${median(dagCpu).toFixed(0)} ms ${list(dagCpu)}`);
if (WITH_CHECKS) {
  const count = processors.reduce((n, p) => n + p.checks.length, 0);
  console.log(`  checks: ${count} on the ${processors.length} processors`);
  checksCost('this checkout:', own, checkTimes);
}
if (BASELINE) {
  console.log(
    `  baseline ${BASELINE} dag run: ${median(ms(baseTimes)).toFixed(0)} ms ${list(ms(baseTimes))}, CPU ${median(cpuMs(baseTimes)).toFixed(0)} ms ${list(cpuMs(baseTimes))}`,
  );
  if (WITH_CHECKS) {
    checksCost('baseline:', baseTimes, baseCheckTimes);
    const checkedMs = median(ms(checkTimes));
    console.log(
      `  with checks, this checkout against the baseline: wall ${pct(checkedMs, median(ms(baseCheckTimes)))}, CPU ${pct(median(cpuMs(checkTimes)), median(cpuMs(baseCheckTimes)))}`,
    );
  }
}
console.log(`  load average (1 min) before / after: ${loadBefore.toFixed(2)} / ${loadavg()[0].toFixed(2)}`);
console.log(`  jobs: ${jobs} (target ⌈${DAYS}/${BATCH}⌉ × ${processors.length} = ${expectedJobs}); partitions built: ${built}`);
if (process.env.KEEP_BENCH) console.log(work);
else rmSync(work, { recursive: true, force: true });
