#!/usr/bin/env node
/**
 * Benchmark for `dag report`: 200 processors × 3,650 days (the size DESIGN §10 names). Builds, in
 * memory, a pipeline like bench/plan.mjs's (10 sources, a random DAG of same / offset / lookback
 * edges), a snapshot with every partition built except the last 36 days and ~20 scattered holes per
 * processor, 40 failed partitions and 20 recorded runs; plans it, renders the page (dist/ required:
 * `npm run build`), and opens it in headless chromium (Debian's, via playwright-core) 3 times.
 *
 *   node bench/report.mjs [--processors 200] [--days 3650] [--keep]
 *
 * Prints the file size, the time to render the HTML in Node, and in the browser: load (navigation
 * start to the heatmap drawn), the heatmap script's own time, and the time from a mouse move to its
 * tooltip. Not a test: figures depend on the machine; bench/README.md records them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: { processors: { type: 'string', default: '200' }, days: { type: 'string', default: '3650' }, keep: { type: 'boolean', default: false } },
});
const PROCESSORS = Number(values.processors);
const DAYS = Number(values.days);
const SOURCES = 10;
const FIRST = Date.UTC(2012, 0, 1) / 86_400_000;

let seed = 42;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));

const dir = mkdtempSync(join(tmpdir(), 'dag-bench-report-'));
const sources = Array.from({ length: SOURCES }, (_, i) => `s${i}`);
const names = Array.from({ length: PROCESSORS }, (_, i) => `P${i}`);
let yaml = `version: 1\nname: bench\ntargets:\n  dev: { type: duckdb, path: bench.duckdb }\ndefault_target: dev\ndefaults: { partition_column: d, batch_size: 31 }\nsources:\n`;
for (const s of sources) yaml += `  ${s}: { table: raw.${s} }\n`;
yaml += 'processors:\n';
names.forEach((name, i) => {
  const candidates = [...sources, ...names.slice(Math.max(0, i - 30), i)];
  const chosen = new Map();
  while (chosen.size < Math.min(int(1, 3), candidates.length)) {
    const r = rnd();
    chosen.set(candidates[int(0, candidates.length - 1)], r < 0.5 ? 'same' : r < 0.75 ? `{ offset: -${int(1, 3)} }` : `{ lookback: ${int(1, 7)} }`);
  }
  yaml += `  ${name}:\n    table: work.${name.toLowerCase()}\n    upstream: { ${[...chosen].map(([u, m]) => `${u}: ${m}`).join(', ')} }\n    command: [./build.sh, "{start}", "{end}"]\n`;
});
writeFileSync(join(dir, 'pipeline.yaml'), yaml);

const { loadPipeline } = await import(join(root, 'dist/config/load.js'));
const { codeFingerprint } = await import(join(root, 'dist/core/fingerprint.js'));
const { plan } = await import(join(root, 'dist/core/planner.js'));
const { makeCalendar } = await import(join(root, 'dist/core/calendar.js'));
const { pipelineGraph } = await import(join(root, 'dist/core/pipeline-graph.js'));
const { renderReport } = await import(join(root, 'dist/report/html/page.js'));
const outcome = await loadPipeline({ cwd: dir });
if (!outcome.ok) throw new Error(`bench pipeline invalid: ${JSON.stringify(outcome.diagnostics.slice(0, 3))}`);
const pipeline = outcome.pipeline;

// ---- snapshot: sources every day; processors built after them, but for the last 36 days and holes
const tables = new Map();
const ledger = new Map();
const failures = new Map();
const sourceDay = { rows: 10, version: 'v1', changedAt: 1_000 };
for (const s of sources) tables.set(s, { exists: true, partitions: new Map(Array.from({ length: DAYS }, (_, i) => [FIRST + i, sourceDay])) });
for (const processor of pipeline.processors) {
  const fingerprint = codeFingerprint(processor);
  const holes = new Set(Array.from({ length: 20 }, () => FIRST + int(0, DAYS - 40)));
  const partitions = new Map();
  const entries = new Map();
  for (let i = 0; i < DAYS - 36; i++) {
    const day = FIRST + i;
    if (holes.has(day)) continue;
    partitions.set(day, { rows: 10, version: '', changedAt: undefined });
    entries.set(day, { runId: 'r0', builtAt: 2_000, rows: 10, codeFingerprint: fingerprint });
  }
  tables.set(processor.name, { exists: true, partitions });
  ledger.set(processor.name, entries);
}
const history = { runs: [], failures: [], failuresTruncated: false };
for (let r = 0; r < 20; r++)
  history.runs.push({
    runId: `run-${r}`,
    commandLine: 'run --range 2012-01-01..',
    target: 'dev',
    startedAt: 1e12 - r * 86_400_000,
    endedAt: 1e12 - r * 86_400_000 + 60_000,
    outcome: r % 4 === 0 ? 'failed' : 'success',
  });
for (let f = 0; f < 40; f++) {
  const processor = names[int(0, PROCESSORS - 1)];
  const day = FIRST + DAYS - 36 + int(0, 35);
  let days = failures.get(processor);
  if (!days) failures.set(processor, (days = new Map()));
  days.set(day, 'PROCESSOR_ERROR');
  history.failures.push({
    runId: 'run-0',
    processor,
    day,
    category: 'PROCESSOR_ERROR',
    message: `Conversion Error: could not convert row ${f}`,
    attempt: 1,
    at: 1e12 + f,
  });
}
const snapshot = { calendar: undefined, tables, ledger, failures, stats: { queries: 0 } };
const range = { start: FIRST, end: FIRST + DAYS - 1 };
const planned = plan({ pipeline, targetName: 'dev', range, selection: pipeline.processors.map((p) => p.name), snapshot, today: range.end });

const renderStarted = performance.now();
const html = renderReport({
  plan: planned,
  snapshot,
  calendar: makeCalendar(undefined),
  graph: pipelineGraph(pipeline),
  history,
  generatedAt: 1e12,
  timeZone: 'UTC',
});
const renderMs = performance.now() - renderStarted;
const file = join(dir, 'report.html');
writeFileSync(file, html);
const size = statSync(file).size;
console.log(
  `report: ${PROCESSORS} processors × ${DAYS} days, ${planned.summary.expected} partitions (${planned.summary.expected - planned.summary.fresh} not fresh), ${history.runs.length} runs`,
);
console.log(`file: ${(size / 2 ** 20).toFixed(2)} MiB; rendered in Node in ${renderMs.toFixed(0)} ms`);

// ---- the browser
const which = spawnSync('which', ['chromium'], { encoding: 'utf8' });
if (which.status !== 0) {
  console.log('browser: skipped (chromium is not installed: apt-get install -y chromium)');
} else {
  const { chromium } = await import('playwright-core');
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const userData = mkdtempSync(join(tmpdir(), 'dag-bench-chromium-'));
    const context = await chromium.launchPersistentContext(userData, {
      executablePath: which.stdout.trim(),
      headless: true,
      args,
      viewport: { width: 1400, height: 900 },
    });
    const page = await context.newPage();
    await page.route('**', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
    await page.goto(pathToFileURL(file).href);
    await page.waitForFunction(() => document.documentElement.dataset.renderMs !== undefined);
    const timing = await page.evaluate(() => ({
      drawn: performance.getEntriesByName('dag-report-drawn')[0]?.startTime ?? NaN,
      script: Number(document.documentElement.dataset.renderMs),
      cells: document.getElementById('heatmap').dataset.painted,
      unit: document.getElementById('heatmap').dataset.unit,
    }));
    const at = await page.evaluate(() => window.dagReport.cellCenter('P199', '2021-12-20') ?? window.dagReport.cellCenter('P0', '2012-01-02'));
    const hoverStarted = Date.now();
    await page.mouse.move(at.x, at.y);
    await page.waitForSelector('#tip:not([hidden])');
    const hoverMs = Date.now() - hoverStarted;
    const handlerMs = await page.evaluate(() => document.getElementById('tip').dataset.ms);
    console.log(
      `browser run ${attempt}: drawn ${timing.drawn.toFixed(0)} ms after navigation start (heatmap script ${timing.script.toFixed(0)} ms, ${timing.cells} ${timing.unit} cells); tooltip ${handlerMs} ms in the page (${hoverMs} ms with the test driver's round trip)`,
    );
    await context.close();
    rmSync(userData, { recursive: true, force: true });
  }
}
if (values.keep) console.log(`kept ${dir}`);
else rmSync(dir, { recursive: true, force: true });
