/**
 * `dag report` in a real browser: Debian's chromium (installed by .ci/run) driven headless by
 * playwright-core, with every request that is not the page's own file aborted and recorded. The page
 * must make no request and log no error; its heatmap must paint one cell per expected partition of the
 * plan (`dag plan --json`), in the plan's states; hovering a blocked cell must name the lacking upstream
 * partition and a failed one its last failure; a year-long range folds into weeks. Screenshots go to
 * test/output/ (git-ignored) for people to look at. Without chromium the tests are skipped, and say so.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from './support/cli.js';
import { copySql, makeProject, pipelineYaml, type Project } from './fixtures/run/project.js';

const which = spawnSync('which', ['chromium'], { encoding: 'utf8' });
const CHROMIUM = which.status === 0 ? which.stdout.trim() : undefined;
if (!CHROMIUM) console.warn('SKIPPED the report browser tests: chromium is not installed (apt-get install -y chromium; .ci/run installs it)');

const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// src has 2021-11-01..10 except 2021-11-05 (a source gap); FLAKY fails on 2021-11-03 only.
const PROCESSORS = `  COPY:
    table: work.copy
    upstream: [src]
    sql: sql/copy.sql
  FLAKY:
    table: work.flaky
    upstream: [src]
    sql: sql/flaky.sql
  DOWN:
    table: work.down
    upstream: { COPY: same, FLAKY: { offset: -1 } }
    sql: sql/down.sql
`;
const FLAKY_SQL = `select d, id, case when d = DATE '2021-11-03' then error('boom on 2021-11-03') else payload end as payload
from {{ ref('src') }} where d between {{ start_date }} and {{ end_date }}
`;
const DOWN_SQL = `select d, id, payload from {{ ref('COPY') }} where d between {{ start_date }} and {{ end_date }}
union all select d + 1, id, payload from {{ ref('FLAKY') }} where d + 1 between {{ start_date }} and {{ end_date }}
`;
const RANGE = '2021-11-01..2021-11-10';

type PlanJson = {
  summary: Record<string, number>;
  processors: { name: string; counts: Record<string, number>; partitions: { date: string; action: string; status: string }[] }[];
};

let project: Project;
let context: BrowserContext;
let userData = '';
const outputDir = join(projectRoot, 'test', 'output');

describe.skipIf(!CHROMIUM)('dag report in headless chromium', () => {
  beforeAll(async () => {
    project = await makeProject(pipelineYaml(PROCESSORS), { 'sql/copy.sql': copySql('src'), 'sql/flaky.sql': FLAKY_SQL, 'sql/down.sql': DOWN_SQL }, 10, [4]);
    const run = await project.dag(['run', '--range', RANGE]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    userData = mkdtempSync(join(tmpdir(), 'dag-chromium-'));
    context = await chromium.launchPersistentContext(userData, {
      executablePath: CHROMIUM,
      headless: true,
      args: LAUNCH_ARGS,
      viewport: { width: 1280, height: 900 },
    });
    mkdirSync(outputDir, { recursive: true });
  });
  afterAll(async () => {
    await context?.close();
    rmSync(userData, { recursive: true, force: true });
    rmSync(project.dir, { recursive: true, force: true });
  });

  /** Opens a report with the network blocked; what it requested and logged is collected. */
  async function open(file: string): Promise<{ page: Page; requests: string[]; errors: string[] }> {
    const page = await context.newPage();
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    await page.route('**', (route) => (route.request().url().startsWith('file:') ? route.continue() : route.abort()));
    await page.goto(pathToFileURL(file).href);
    await page.waitForFunction(() => document.documentElement.dataset.renderMs !== undefined);
    return { page, requests, errors };
  }

  async function hover(page: Page, processor: string, date: string): Promise<string> {
    const at = await page.evaluate(
      ([p, d]) => (window as unknown as { dagReport: { cellCenter(p: string, d: string): { x: number; y: number } | null } }).dagReport.cellCenter(p!, d!),
      [processor, date],
    );
    expect(at, `no cell for ${processor} ${date}`).not.toBeNull();
    await page.mouse.move(at!.x, at!.y);
    await page.waitForSelector('#tip:not([hidden])');
    return (await page.textContent('#tip')) ?? '';
  }

  it("opens offline, paints one cell per expected partition in the plan's states, and explains cells on hover", async () => {
    const made = await project.dag(['report', '--range', RANGE, '--out', 'out/report.html']);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/^dag: wrote out\/report\.html \(\d+ KiB\): 3 processors × 10 days, 1 recent runs\n$/);
    const planned = await project.dag(['plan', '--range', RANGE, '--json']);
    const plan = JSON.parse(planned.stdout) as PlanJson;

    const file = join(project.dir, 'out', 'report.html');
    expect(readFileSync(file, 'utf8')).not.toMatch(/<(script|link|img)[^>]+(src|href)=/);
    const { page, requests, errors } = await open(file);
    expect(requests).toEqual([pathToFileURL(file).href]);
    expect(errors).toEqual([]);

    const painted = await page.evaluate(() => ({ ...document.getElementById('heatmap')!.dataset }));
    expect(painted.unit).toBe('day');
    expect(Number(painted.columns)).toBe(10);
    expect(Number(painted.rows)).toBe(plan.processors.length);
    expect(Number(painted.painted)).toBe(plan.summary.expected);
    expect(Number(painted.fresh)).toBe(plan.summary.fresh);
    const notFresh = Number(painted.missing) + Number(painted.stale) + Number(painted.blocked) + Number(painted.failed);
    expect(notFresh).toBe(plan.summary.expected - plan.summary.fresh);
    // Every blocked partition of the plan is painted blocked, unless its last build failed (X wins).
    expect(Number(painted.blocked) + Number(painted.failed)).toBeGreaterThanOrEqual(plan.summary.blocked);
    expect(Number(painted.failed)).toBeGreaterThanOrEqual(1);

    const blocked = plan.processors.find((p) => p.name === 'COPY')!.partitions.find((p) => p.date === '2021-11-05');
    expect(blocked?.action).toBe('blocked');
    expect(await hover(page, 'COPY', '2021-11-05')).toBe('COPY · 2021-11-05\nmissing, blocked: MISSING_DEPENDENCIES\nlacks src 2021-11-05');
    const failed = await hover(page, 'FLAKY', '2021-11-03');
    expect(failed).toContain('FLAKY · 2021-11-03\nmissing: will be built');
    expect(failed).toMatch(/last failure: PROCESSOR_ERROR in run \S+ \(\d{4}-\d\d-\d\dT[\d:.]+Z\): .*boom on 2021-11-03/);
    expect(await hover(page, 'COPY', '2021-11-02')).toBe('COPY · 2021-11-02\nfresh');

    expect(await page.locator('#runs tr.run').count()).toBe(1);
    expect(await page.textContent('#runs tr.run td.outcome')).toBe('failed');
    // The batch 01..03 failed first and was split: 01 and 02 were built by the same run, so only 03 failed.
    expect(await page.locator('#runs tr.run td.num').allTextContents()).toEqual(['1', '1']);
    expect(await page.textContent('#failures')).toContain('PROCESSOR_ERROR ×1');
    const [first, second] = await page.locator('#failures h3').allTextContents();
    expect([first, second]).toEqual(['PROCESSOR_ERROR ×1', 'UPSTREAM_FAILED ×1']);
    const flaky = await page.locator('#failures table.failures tbody tr').first().locator('td').allTextContents();
    expect(flaky.slice(0, 4)).toEqual(['FLAKY', '1', '2021-11-03', '—']);
    expect(await page.locator('svg.dag g.node').count()).toBe(4);
    expect(await page.textContent('svg.dag')).toContain('offset -1');
    await hover(page, 'COPY', '2021-11-05');
    await page.screenshot({ path: join(outputDir, 'report.png'), fullPage: true });
    await page.close();
  });

  it('folds a two-year range into weeks, each column its worst day, with the days in its tooltip', async () => {
    const made = await project.dag(['report', '--range', '2020-01-01..2021-12-31', '--select', 'COPY', '--out', 'out/weeks.html']);
    expect(made.code, made.stderr).toBe(0);
    const { page, requests, errors } = await open(join(project.dir, 'out', 'weeks.html'));
    expect(requests).toHaveLength(1);
    expect(errors).toEqual([]);
    const painted = await page.evaluate(() => ({ ...document.getElementById('heatmap')!.dataset }));
    expect(painted.unit).toBe('week');
    // 2020-01-01 is a Wednesday: a partial first week, then Monday-started weeks through 2021-12-31.
    expect(Number(painted.columns)).toBe(105);
    expect(Number(painted.painted)).toBe(105);
    const tip = await hover(page, 'COPY', '2021-11-05');
    expect(tip).toContain('COPY · 2021-11-01..2021-11-07');
    expect(tip).toContain('2021-11-05: missing, blocked: MISSING_DEPENDENCIES; lacks src 2021-11-05');
    // FLAKY is not in the selection: its failures are left out, and the page says so.
    expect(await page.textContent('#failures')).toContain('No failure in the recent runs.');
    expect(await page.textContent('#runs')).toContain("Failures of processors outside this report's selection are left out.");
    await page.screenshot({ path: join(outputDir, 'report-weeks.png'), fullPage: true });
    await page.close();
  });
});
