/**
 * Two `dag run` processes on one target, webhooks against a real HTTP server on 127.0.0.1, daily
 * mode's per-failure messages, and Ctrl-C (SIGINT) of a real run.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { dagBin, looksLikeStackTrace } from './support/cli.js';
import { queryRows } from './support/duckdb.js';
import { startWebhookServer, type WebhookServer } from './support/webhook.js';
import { copySql, countsByDay, ledgerByDay, makeProject, parseRunJson, pipelineYaml, processorOf, type Project } from './fixtures/run/project.js';

// DuckDB has no sleep(): this filter keeps a query busy far longer than any test runs.
const SLOW_SQL =
  "select d, id, payload from {{ ref('src') }} where d between {{ start_date }} and {{ end_date }} and (select count(*) from range(100000000) a, range(100000) b where a.range + b.range = -1) = 0\n";

function slowProject(timeout: string): Promise<Project> {
  const yaml = pipelineYaml(`  SLOW:
    table: p.slow
    upstream: [src]
    sql: sql/slow.sql
    timeout: ${timeout}
    batch_size: 1
`);
  return makeProject(yaml, { 'sql/slow.sql': SLOW_SQL }, 1);
}

/** Starts `dag run` in the background; resolves when it exits. */
function background(project: Project, args: readonly string[]) {
  const child = spawn(process.execPath, [dagBin, ...args], { cwd: project.dir, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done };
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let servers: WebhookServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

describe('one writer per target', () => {
  it('refuses a second run while the first holds the lock (exit 2, who and since), and --wait gets it after', async () => {
    const project = await slowProject('3s');
    const first = background(project, ['run', '--range', '2021-11-01']);
    await until(() => existsSync(`${project.db}.lock`), 'the first run to take the lock');

    const refused = await project.dag(['run', '--range', '2021-11-01']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /^dag: target dev is locked by dag run \S+ \(pid \d+ on .+\) since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; wait or pass --wait 5m$/m,
    );
    expect(looksLikeStackTrace(refused.stderr)).toBe(false);

    const waited = await project.dag(['run', '--range', '2021-11-01', '--wait', '60s', '--json']);
    const firstResult = await first.done;
    expect(firstResult.code).toBe(1);
    expect(waited.code, waited.stderr).toBe(1);
    // The waiting run ran after the first one finished: it built (and timed out) on its own.
    expect(processorOf(parseRunJson(waited), 'SLOW').failed[0]?.category).toBe('TIMEOUT');
    expect(existsSync(`${project.db}.lock`)).toBe(false);
    const runs = await queryRows(project.db, `select count(*)::INTEGER as n from _dag.runs where ended_at is not null`);
    expect(runs).toEqual([{ n: 2 }]);
  });

  it('Ctrl-C cancels: the running job is interrupted, CANCELLED recorded, lock released, exit 130', async () => {
    const project = await slowProject('60s');
    const run = background(project, ['run', '--range', '2021-11-01']);
    await until(() => run.child.stdout !== null && existsSync(`${project.db}.lock`), 'the run to start');
    // Give the job a moment to be inside its query.
    await new Promise((r) => setTimeout(r, 700));
    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr).toMatch(/cancelling run/);
    expect(result.stdout).toMatch(/: cancelled$/m);
    expect(existsSync(`${project.db}.lock`)).toBe(false);
    const runs = await queryRows(project.db, `select outcome from _dag.runs where ended_at is not null`);
    expect(runs).toEqual([{ outcome: 'cancelled' }]);
    expect((await ledgerByDay(project.db, 'SLOW')).size).toBe(0);
    expect(await queryRows(project.db, `select category from _dag.failures`)).toEqual([{ category: 'CANCELLED' }]);
  });
});

describe('notifications', () => {
  const twoProcessors = (top: string, badNotify = '') =>
    pipelineYaml(
      `  GOOD:
    table: p.good
    upstream: [src]
    sql: sql/good.sql
  BAD:
    table: p.bad
    upstream: [src]
    sql: sql/bad.sql
    batch_size: 1
${badNotify}`,
      top,
    );
  const files = { 'sql/good.sql': copySql('src'), 'sql/bad.sql': "select d, nope from {{ ref('src') }} where d between {{ start_date }} and {{ end_date }}\n" };

  it('backfill mode: no message per failure, one JSON summary posted at the end', async () => {
    const server = await startWebhookServer();
    servers.push(server);
    const project = await makeProject(twoProcessors(`notify: { webhook: "${server.url}" }`), files, 3);
    const result = await project.dag(['run', '--range', '2021-11-01..2021-11-03', '--json']);
    expect(result.code).toBe(1);
    expect(result.stderr).not.toMatch(/FAILED/);
    expect(server.posts).toHaveLength(1);
    const summary = server.posts[0] as { event: string; run_id: string; totals: { built: number; failed: number } };
    expect(summary.event).toBe('summary');
    expect(summary.run_id).toBe(parseRunJson(result).run_id);
    expect(summary.totals).toMatchObject({ built: 3, failed: 3 });
  });

  it('daily mode: a stderr line and a post per failure as it happens, to the processor webhook', async () => {
    const pipelineHook = await startWebhookServer();
    const badHook = await startWebhookServer();
    servers.push(pipelineHook, badHook);
    const project = await makeProject(twoProcessors(`notify: { webhook: "${pipelineHook.url}" }`, `    notify: { webhook: "${badHook.url}" }\n`), files, 2);
    const result = await project.dag(['run', '--range', '2021-11-01..2021-11-02', '--mode', 'daily']);
    expect(result.code).toBe(1);
    expect(result.stderr.match(/^dag: FAILED BAD 2021-11-0[12] PROCESSOR_ERROR: /gm)).toHaveLength(2);
    const failures = badHook.posts.filter((p) => (p as { event: string }).event === 'failure') as { processor: string; date: string; category: string }[];
    expect(failures.map((f) => [f.processor, f.date, f.category]).sort()).toEqual([
      ['BAD', '2021-11-01', 'PROCESSOR_ERROR'],
      ['BAD', '2021-11-02', 'PROCESSOR_ERROR'],
    ]);
    // The summary goes to every webhook involved, once.
    expect(pipelineHook.posts.map((p) => (p as { event: string }).event)).toEqual(['summary']);
    expect(badHook.posts.filter((p) => (p as { event: string }).event === 'summary')).toHaveLength(1);
  });

  it('daily mode warns of stale data (a source gap the run needs) before building; backfill mode does not', async () => {
    const hook = await startWebhookServer();
    servers.push(hook);
    const yaml = pipelineYaml(
      `  GOOD:
    table: p.good
    upstream: [src]
    sql: sql/good.sql
`,
      `notify: { webhook: "${hook.url}" }`,
    );
    const backfill = await makeProject(yaml, { 'sql/good.sql': copySql('src') }, 3, [1]);
    const quiet = await backfill.dag(['run', '--range', '2021-11-01..2021-11-03']);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toContain('stale data');
    expect(hook.posts.map((p) => (p as { event: string }).event)).toEqual(['summary']);

    const daily = await makeProject(yaml, { 'sql/good.sql': copySql('src') }, 3, [1]);
    const loud = await daily.dag(['run', '--range', '2021-11-01..2021-11-03', '--mode', 'daily']);
    expect(loud.code, loud.stderr).toBe(0);
    expect(loud.stderr).toContain("dag: stale data: source 'src' has no partition for 2021-11-02; blocked until it arrives: GOOD 2021-11-02");
    const stale = hook.posts.filter((p) => (p as { event: string }).event === 'stale_data') as { source: string; dates: string[] }[];
    expect(stale.map((p) => [p.source, p.dates])).toEqual([['src', ['2021-11-02']]]);
  });

  it('daily mode over 20 failing days: 10 failure posts, then ONE digest; at most 4 posts at once; the summary after the lock is released', async () => {
    let lockFile = '';
    // A slow receiver (300 ms an answer): a client that posted everything at once would show here.
    const hook = await startWebhookServer(200, { delayMs: 300, observe: () => ({ locked: existsSync(lockFile) }) });
    servers.push(hook);
    const project = await makeProject(twoProcessors(`notify: { webhook: "${hook.url}" }`), files, 20);
    lockFile = `${project.db}.lock`;
    const result = await project.dag(['run', '--range', '2021-11-01..2021-11-20', '--mode', 'daily']);
    expect(result.code, result.stderr).toBe(1);
    expect(hook.maxInFlight).toBeGreaterThan(0);
    expect(hook.maxInFlight).toBeLessThanOrEqual(4);
    const events = hook.posts.map((p) => (p as { event: string }).event);
    type Failure = { date: string; processor: string };
    type Digest = {
      run_id: string;
      count: number;
      posted: number;
      failures: { processor: string; category: string; count: number; dates: string[]; message: string }[];
    };
    const failures = hook.posts.filter((p) => (p as { event: string }).event === 'failure') as Failure[];
    const digests = hook.posts.filter((p) => (p as { event: string }).event === 'failure_digest') as Digest[];
    expect(failures).toHaveLength(10);
    expect(digests).toHaveLength(1);
    const digest = digests[0] as Digest;
    expect(digest).toMatchObject({ count: 10, posted: 10 });
    expect(digest.failures).toHaveLength(1);
    expect(digest.failures[0]).toMatchObject({ processor: 'BAD', category: 'PROCESSOR_ERROR', count: 10 });
    expect(digest.failures[0]?.message).toMatch(/nope/);
    // Every failing day is told once: one by one, or in the digest.
    const told = [...failures.map((f) => f.date), ...(digest.failures[0]?.dates ?? [])].sort();
    expect(told).toEqual(Array.from({ length: 20 }, (_, i) => `2021-11-${String(i + 1).padStart(2, '0')}`));
    expect(events.filter((e) => e === 'summary')).toHaveLength(1);
    const summaryAt = events.indexOf('summary');
    expect(hook.observed[summaryAt]).toEqual({ locked: false });
    expect(digest.run_id).toBe((hook.posts[summaryAt] as { run_id: string }).run_id);
  });

  it('a webhook that fails is a warning, never a failed run', async () => {
    const broken = await startWebhookServer(500);
    servers.push(broken);
    const closedPort = await startWebhookServer();
    await closedPort.close();
    const yaml = pipelineYaml(
      `  GOOD:
    table: p.good
    upstream: [src]
    sql: sql/good.sql
    notify: { webhook: "${closedPort.url}" }
`,
      `notify: { webhook: "${broken.url}" }`,
    );
    const project = await makeProject(yaml, { 'sql/good.sql': copySql('src') }, 2);
    const result = await project.dag(['run', '--range', '2021-11-01..2021-11-02']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^dag: warning: webhook http:\/\/127\.0\.0\.1:\d+\/… failed: HTTP 500/m);
    expect(result.stderr).toMatch(/^dag: warning: webhook http:\/\/127\.0\.0\.1:\d+\/… failed: fetch failed/m);
    expect(broken.posts).toHaveLength(1);
    expect(await countsByDay(project.db, 'p.good')).toEqual(await ledgerByDay(project.db, 'GOOD'));
  });
});
