#!/usr/bin/env node
/**
 * Benchmark for `dag plan` on the shapes real pipelines have (issue 15), each generated in a DuckDB
 * file in a temp folder and timed as a whole process (`dag plan --json`, and the text plan), under
 * /usr/bin/time -v: wall, peak RSS, warehouse queries, partition states per second, output size.
 * Built dist/ required (`npm run build`).
 *
 *   node bench/plan.mjs [--shape NAME]... [--processors N] [--days N] [--runs 3] [--text]
 *                       [--make] [--baseline DIR] [--keep] [--tmp DIR]
 *
 * Shapes (bench/README.md): default (200 × 3,650, 10 sources, a random DAG), make10 (10 × 3,650,
 * with make), make100 (100 × 3,650 = 365k partitions, with make), wide (one processor reading 300
 * sources × 3,650), chain (2,000 processors in a chain × 30 days), lookback (a lookback of 365 over
 * an upstream whose code changed), scattered (default with 1% holes everywhere), p1000, p2000.
 * `--make` adds `make -k -n -r -R` on the equivalent Makefile (one rule per partition in the range,
 * prerequisites the partitions it reads, file times from the ledger), as test/make-equivalence does.
 * `--baseline DIR` runs another dag checkout (built) on the same files, interleaved run by run
 * (A B A B ...), so a loaded machine slows both alike. Not a test: figures depend on the machine.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    shape: { type: 'string', multiple: true, default: ['default'] },
    processors: { type: 'string' },
    days: { type: 'string' },
    runs: { type: 'string', default: '3' },
    text: { type: 'boolean', default: false },
    make: { type: 'boolean', default: false },
    baseline: { type: 'string' },
    keep: { type: 'boolean', default: false },
    tmp: { type: 'string', default: tmpdir() },
    scattered: { type: 'boolean', default: false },
  },
});
const FIRST = '2012-01-01';
const DAY_MS = 86_400_000;
const isoAt = (i) => new Date(Date.parse(`${FIRST}T00:00:00Z`) + i * DAY_MS).toISOString().slice(0, 10);

/** What a shape generates: sources, processors with their upstream mappings, which partitions exist. */
const SHAPES = {
  default: { processors: 200, days: 3650, dag: 'random', holes: 'recent' },
  make10: { processors: 10, days: 3650, dag: 'random', holes: 'recent', make: true, text: true },
  make100: { processors: 100, days: 3650, dag: 'random', holes: 'recent', make: true },
  wide: { processors: 1, days: 3650, sources: 300, dag: 'wide', holes: 'recent' },
  chain: { processors: 2000, days: 30, dag: 'chain', holes: 'none', sources: 1 },
  lookback: { processors: 2, days: 3650, dag: 'lookback', holes: 'none', sources: 1, text: true },
  scattered: { processors: 200, days: 3650, dag: 'random', holes: 'scattered', text: true },
  p1000: { processors: 1000, days: 3650, dag: 'random', holes: 'recent', runs: 1 },
  p2000: { processors: 2000, days: 3650, dag: 'random', holes: 'recent', runs: 1, text: true },
};

function makeRandom() {
  let seed = 42;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  return { rnd, int: (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1)) };
}

/** Processors as { name, upstream: [[node, mapping]] } with mapping { kind: same | offset | lookback, n }. */
function generate(shape) {
  const { rnd, int } = makeRandom();
  const sourceCount = shape.sources ?? 10;
  const sources = Array.from({ length: sourceCount }, (_, i) => `s${i}`);
  const names = Array.from({ length: shape.processors }, (_, i) => `P${i}`);
  const processors = names.map((name, i) => {
    if (shape.dag === 'wide') return { name, upstream: sources.map((s) => [s, { kind: 'same' }]) };
    if (shape.dag === 'chain') return { name, upstream: [[i === 0 ? sources[0] : names[i - 1], { kind: 'same' }]] };
    if (shape.dag === 'lookback') return { name, upstream: [[i === 0 ? sources[0] : names[i - 1], i === 0 ? { kind: 'same' } : { kind: 'lookback', n: 365 }]] };
    const candidates = [...sources, ...names.slice(Math.max(0, i - 30), i)];
    const chosen = new Map();
    const count = int(1, 3);
    while (chosen.size < Math.min(count, candidates.length)) {
      const u = candidates[int(0, candidates.length - 1)];
      const r = rnd();
      chosen.set(u, r < 0.5 ? { kind: 'same' } : r < 0.75 ? { kind: 'offset', n: int(1, 3) } : { kind: 'lookback', n: int(1, 7) });
    }
    return { name, upstream: [...chosen] };
  });
  return { sources, processors, rnd, int };
}

const mappingYaml = (m) => (m.kind === 'same' ? 'same' : m.kind === 'offset' ? `{ offset: -${m.n} }` : `{ lookback: ${m.n} }`);

/** Day indexes (0 = FIRST) a partition on day i reads through a mapping. */
function readDays(m, i) {
  if (m.kind === 'same') return [i];
  if (m.kind === 'offset') return [i - m.n];
  return Array.from({ length: m.n + 1 }, (_, k) => i - m.n + k);
}

async function setup(shape, dir) {
  const days = shape.days;
  const { sources, processors, int } = generate(shape);
  const last = isoAt(days - 1);
  let yaml = `version: 1\nname: bench\ntargets:\n  dev: { type: duckdb, path: bench.duckdb }\ndefault_target: dev\ndefaults: { partition_column: d, batch_size: 31 }\nsources:\n`;
  for (const s of sources) yaml += `  ${s}: { table: raw.${s} }\n`;
  yaml += 'processors:\n';
  mkdirSync(join(dir, 'sql'));
  for (const p of processors) {
    yaml += `  ${p.name}:\n    table: work.${p.name.toLowerCase()}\n    upstream: { ${p.upstream.map(([u, m]) => `${u}: ${mappingYaml(m)}`).join(', ')} }\n    sql: sql/${p.name}.sql\n`;
    const union = p.upstream.map(([u]) => `SELECT d FROM {{ ref('${u}') }}`).join(' UNION ALL ');
    writeFileSync(join(dir, 'sql', `${p.name}.sql`), `SELECT DISTINCT d FROM (${union}) WHERE d BETWEEN {{ start_date }} AND {{ end_date }}\n`);
  }
  writeFileSync(join(dir, 'pipeline.yaml'), yaml);

  const { loadPipeline } = await import(join(root, 'dist/config/load.js'));
  const { codeFingerprint } = await import(join(root, 'dist/core/fingerprint.js'));
  const { openDuckdb } = await import(join(root, 'dist/warehouse/duckdb/index.js'));
  const outcome = await loadPipeline({ cwd: dir });
  if (!outcome.ok) throw new Error(`bench pipeline invalid: ${JSON.stringify(outcome.diagnostics.slice(0, 3))}`);
  const pipeline = outcome.pipeline;
  const dbPath = join(dir, 'bench.duckdb');

  // Sources every day. Processors: `recent` leaves the last 36 days unbuilt (a month of catching up)
  // plus 20 holes in the last processors; `scattered` drops a random 1% everywhere (make-style
  // propagation then makes half the warehouse stale); `none` builds everything.
  const instance = await DuckDBInstance.create(dbPath);
  const c = await instance.connect();
  await c.run('CREATE SCHEMA raw');
  await c.run('CREATE SCHEMA work');
  const series = `generate_series(DATE '${FIRST}', DATE '${last}', INTERVAL 1 DAY) t(x)`;
  for (const s of sources) await c.run(`CREATE TABLE raw.${s} AS SELECT x::DATE AS d, 1 AS v FROM ${series}`);
  const recent = isoAt(days - 36);
  for (const [i, p] of processors.entries()) {
    const keep = shape.holes === 'scattered' ? `hash(x, ${i}) % 100 <> 0` : shape.holes === 'recent' ? `x < DATE '${recent}'` : 'true';
    await c.run(`CREATE TABLE work.${p.name.toLowerCase()} AS SELECT x::DATE AS d, 1 AS v FROM ${series} WHERE ${keep}`);
  }
  if (shape.holes === 'recent') {
    const n = processors.length;
    for (let k = 0; k < 20; k++)
      await c.run(
        `DELETE FROM work.${processors[int(Math.max(0, n - 20), n - 1)].name.toLowerCase()} WHERE d = DATE '${FIRST}' + ${int(0, Math.max(0, days - 40))}`,
      );
  }
  c.disconnectSync();
  instance.closeSync();

  const warehouse = await openDuckdb(pipeline.targets.get('dev'), { env: {}, readOnly: false });
  const snapshot = await warehouse.readSnapshot(pipeline, pipeline.nodes instanceof Map ? [...pipeline.nodes.keys()] : []);
  const recordedAt = Date.now() - 7_200_000;
  await warehouse.recordSourceVersions(pipeline, snapshot, recordedAt);
  await warehouse.close();

  const builtAtMs = recordedAt + 3_600_000;
  const changed = [];
  {
    const instance2 = await DuckDBInstance.create(dbPath);
    const c2 = await instance2.connect();
    const builtAt = new Date(builtAtMs).toISOString().replace('T', ' ').replace('Z', '');
    // Ledger rows by column name, so the bench fits ledger versions with or without table_name.
    const ledgerColumns = new Set(
      (await (await c2.runAndReadAll(`SELECT column_name FROM duckdb_columns() WHERE schema_name = '_dag' AND table_name = 'partitions'`)).getRows()).map((r) =>
        String(r[0]),
      ),
    );
    for (const [i, p] of pipeline.processors.entries()) {
      // lookback: the first processor's code changed since its partitions were built.
      const code = shape.dag === 'lookback' && i === 0 ? 'old-code' : codeFingerprint(p);
      const table = ledgerColumns.has('table_name') ? `, '${p.table.schema}.${p.table.name}' AS table_name` : '';
      await c2.run(
        `INSERT INTO "_dag"."partitions" BY NAME SELECT '${p.name}' AS processor, d AS partition_date, 'bench' AS run_id, TIMESTAMP '${builtAt}' AS built_at, 1 AS "rows", '${code}' AS code_fingerprint, 'x' AS input_fingerprint${table} FROM work.${p.name.toLowerCase()}`,
      );
    }
    // A few source partitions change after everything was built: their readers become stale.
    if (shape.dag === 'random' || shape.dag === 'wide') {
      for (let k = 0; k < 5; k++) {
        const s = sources[int(0, sources.length - 1)];
        const i = int(0, days - 1);
        changed.push(`${s}/${i}`);
        await c2.run(`UPDATE raw.${s} SET v = 2 WHERE d = DATE '${isoAt(i)}'`);
      }
    }
    c2.disconnectSync();
    instance2.closeSync();
  }
  if (shape.make)
    await writeMakefile(dir, dbPath, sources, processors, days, {
      recordedAt,
      builtAtMs,
      changed,
      codeChanged: shape.dag === 'lookback' ? processors[0].name : undefined,
    });
  return { range: `${FIRST}..${last}`, tables: sources.length + processors.length };
}

/**
 * The equivalent Makefile (DESIGN §6): one rule per processor partition in the range whose
 * prerequisites are the partitions it reads; one empty file per present partition, its time the
 * ledger's built_at (processors) or when its version was recorded (sources; changed ones: now).
 */
async function writeMakefile(dir, dbPath, sources, processors, days, times) {
  const mk = join(dir, 'make');
  mkdirSync(mk);
  const instance = await DuckDBInstance.create(dbPath, { access_mode: 'READ_ONLY' });
  const c = await instance.connect();
  const present = async (table) =>
    new Set((await (await c.runAndReadAll(`SELECT (d - DATE '${FIRST}')::INTEGER FROM ${table}`)).getRows()).map((r) => Number(r[0])));
  const touch = (name, i, ms) => {
    const file = join(mk, name, String(i));
    writeFileSync(file, '');
    utimesSync(file, ms / 1000, ms / 1000);
  };
  const changed = new Set(times.changed);
  for (const s of sources) {
    mkdirSync(join(mk, s));
    for (const i of await present(`raw.${s}`)) touch(s, i, changed.has(`${s}/${i}`) ? Date.now() : times.recordedAt);
  }
  const rules = [];
  const targets = [];
  for (const p of processors) {
    mkdirSync(join(mk, p.name));
    for (const i of await present(`work.${p.name.toLowerCase()}`)) touch(p.name, i, times.builtAtMs);
    for (let i = 0; i < days; i++) {
      const prereqs = p.upstream.flatMap(([u, m]) => readDays(m, i).map((k) => `${u}/${k}`));
      targets.push(`${p.name}/${i}`);
      rules.push(`${p.name}/${i}: ${prereqs.join(' ')}\n\techo BUILD $@\n`);
    }
  }
  c.disconnectSync();
  instance.closeSync();
  writeFileSync(join(mk, 'Makefile'), `all: ${targets.join(' ')}\n.PHONY: all\n${rules.join('')}`);
}

/** Runs a command under /usr/bin/time -v with stdout to a file: wall ms, peak RSS KiB, output bytes. */
function timed(argv, cwd, out) {
  const fd = openSync(out, 'w');
  const started = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-v', ...argv], { cwd, stdio: ['ignore', fd, 'pipe'], encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  closeSync(fd);
  const rssKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1] ?? NaN);
  // CPU time (user + system, every thread): steadier than wall time on a shared, loaded machine.
  const cpuMs =
    1000 * (Number(/User time \(seconds\): ([\d.]+)/.exec(r.stderr)?.[1] ?? NaN) + Number(/System time \(seconds\): ([\d.]+)/.exec(r.stderr)?.[1] ?? NaN));
  return { status: r.status, stderr: r.stderr, wallMs, cpuMs, rssKb, bytes: statSync(out).size };
}

/** The last bytes of a file: summary and stats close the JSON, the totals close the text. */
function tail(file, bytes = 4096) {
  const fd = openSync(file, 'r');
  const size = statSync(file).size;
  const buffer = Buffer.alloc(Math.min(bytes, size));
  readSync(fd, buffer, 0, buffer.length, Math.max(0, size - buffer.length));
  closeSync(fd);
  return buffer.toString('utf8');
}

function planRun(bin, dir, range, mode) {
  const out = join(dir, `out.${mode}`);
  const args = [process.execPath, join(bin, 'bin/dag.js'), 'plan', '--range', range, ...(mode === 'json' ? ['--json'] : [])];
  const r = timed(args, dir, out);
  if (r.status !== 0) return { ...r, failed: (/dag: .*/.exec(r.stderr)?.[0] ?? r.stderr.slice(-300)).trim(), queries: NaN, expected: NaN, summary: 'failed' };
  const end = tail(out);
  const queries = Number((mode === 'json' ? /"queries": (\d+)/ : /(\d+) warehouse quer/).exec(end)?.[1] ?? NaN);
  const expected = Number((mode === 'json' ? /"summary": \{\s*"expected": (\d+)/ : /Total: (\d+) expected/).exec(end)?.[1] ?? NaN);
  const summary = (mode === 'json' ? /"summary": (\{[^}]*\})/.exec(end)?.[1] : /Total: .*/.exec(end)?.[0]) ?? '';
  return { ...r, queries, expected, summary: mode === 'json' ? JSON.stringify(JSON.parse(summary)) : summary };
}

function makeRun(dir) {
  const r = timed(['make', '-k', '-n', '-r', '-R', 'all'], join(dir, 'make'), join(dir, 'out.make'));
  return { ...r, builds: (tail(join(dir, 'out.make'), 1 << 30).match(/^echo BUILD /gm) ?? []).length };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const mib = (kb) => `${Math.round(kb / 1024)} MiB`;
const ms = (x) => `${Math.round(x)} ms`;

async function bench(shapeName) {
  const base = SHAPES[shapeName];
  if (!base) throw new Error(`unknown shape '${shapeName}': one of ${Object.keys(SHAPES).join(', ')}`);
  const shape = {
    ...base,
    ...(values.processors ? { processors: Number(values.processors) } : {}),
    ...(values.days ? { days: Number(values.days) } : {}),
    ...(values.scattered ? { holes: 'scattered' } : {}),
    ...(values.make ? { make: true } : {}),
  };
  mkdirSync(values.tmp, { recursive: true });
  const dir = mkdtempSync(join(values.tmp, `dag-bench-${shapeName}-`));
  const setupStarted = Date.now();
  const { range, tables } = await setup(shape, dir);
  console.log(
    `\n== ${shapeName}: ${shape.processors} processors x ${shape.days} days (${tables} tables), setup ${((Date.now() - setupStarted) / 1000).toFixed(1)} s`,
  );
  const runs = Number(values.runs !== '3' ? values.runs : (shape.runs ?? values.runs));
  const bins = [['dag', root], ...(values.baseline ? [['baseline', resolve(values.baseline)]] : [])];
  const modes = ['json', ...(values.text || shape.text ? ['text'] : [])];
  const results = new Map();
  const variants = [
    ...bins.flatMap(([label, bin]) => modes.map((mode) => ({ key: `${label} ${mode}`, run: () => planRun(bin, dir, range, mode) }))),
    ...(shape.make ? [{ key: 'make -n', run: () => makeRun(dir) }] : []),
  ];
  for (const v of variants) v.run(); // warm the file cache once
  for (let k = 0; k < runs; k++) for (const v of variants) results.set(v.key, [...(results.get(v.key) ?? []), v.run()]);
  for (const v of variants) {
    const rs = results.get(v.key);
    if (!rs) continue; // --runs 0: setup and one warm run only (with --keep, to profile by hand)
    const wall = median(rs.map((r) => r.wallMs));
    const rss = median(rs.map((r) => r.rssKb));
    const cpu = median(rs.map((r) => r.cpuMs));
    const r = rs[0];
    const extra =
      v.key === 'make -n'
        ? `${r.builds} to remake`
        : r.failed
          ? `FAILED: ${r.failed}`
          : `${r.queries} queries, ${Math.round(r.expected / (wall / 1000)).toLocaleString('en')} states/s, ${(r.bytes / 1e6).toFixed(1)} MB out`;
    console.log(
      `  ${v.key.padEnd(14)} wall ${ms(wall).padStart(8)} (${rs.map((x) => ms(x.wallMs)).join(', ')})  cpu ${ms(cpu).padStart(8)}  peak RSS ${mib(rss).padStart(8)}  ${extra}`,
    );
  }
  const first = results.get('dag json')?.[0];
  if (first) console.log(`  summary        ${first.summary}`);
  // The same files must give the same plan, whichever build reads them.
  for (const [key, rs] of results) if (key.endsWith(' json') && rs[0].summary !== first?.summary) console.log(`  MISMATCH       ${key}: ${rs[0].summary}`);
  for (const [label] of bins) {
    const wallOf = (key) => median(results.get(key)?.map((r) => r.wallMs) ?? [NaN]);
    const cpuOf = (key) => median(results.get(key)?.map((r) => r.cpuMs) ?? [NaN]);
    if (shape.make)
      console.log(
        `  ${label}: plan --json / make -n = ${(wallOf(`${label} json`) / wallOf('make -n')).toFixed(2)}x wall, ${(cpuOf(`${label} json`) / cpuOf('make -n')).toFixed(2)}x cpu${modes.includes('text') ? `; text / make -n = ${(wallOf(`${label} text`) / wallOf('make -n')).toFixed(2)}x wall` : ''}`,
      );
    if (modes.includes('text')) console.log(`  ${label}: json / text = ${(wallOf(`${label} json`) / wallOf(`${label} text`)).toFixed(2)}x`);
  }
  if (values.keep) console.log(`  kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}

for (const name of values.shape) await bench(name);
