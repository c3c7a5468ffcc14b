/**
 * Stopping through the real CLI: a query blocked in the kernel (a FIFO read, like a stalled NFS or S3
 * read) is abandoned after its timeout and grace period and the process still ends; Ctrl-C during a
 * batch leaves a summary that says exactly what the ledger says; a second Ctrl-C exits at once.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dagBin } from './support/cli.js';
import { queryRows } from './support/duckdb.js';
import { copySql, isoDay, makeProject, parseRunJson, pipelineYaml, processorOf, type Project } from './fixtures/run/project.js';

const made: Project[] = [];
afterAll(() => {
  for (const project of made) rmSync(project.dir, { recursive: true, force: true });
});

async function project(...args: Parameters<typeof makeProject>): Promise<Project> {
  const p = await makeProject(...args);
  made.push(p);
  return p;
}

/** Processes whose working folder is `dir` (a dag run and whatever it started there). */
function processesIn(dir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) === dir) found.push(Number(entry));
    } catch {
      // gone, or not ours to look at
    }
  }
  return found;
}

/** `dag run` as a child we can signal; resolves with its output once it has exited. */
function startRun(dir: string, args: string[]) {
  const child = spawn(process.execPath, [dagBin, 'run', ...args], { cwd: dir, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, exited, output: () => stdout };
}

/**
 * STUCK reads stalled.csv, a FIFO nobody ever writes to: opening it for reading blocks in the kernel,
 * where no interrupt reaches (like a stalled NFS or S3 read). FINE builds next to it.
 */
async function stalledProject(stuckSettings: string): Promise<Project> {
  const yaml = pipelineYaml(`  STUCK:
    table: p.stuck
    upstream: [src]
    sql: sql/stuck.sql
${stuckSettings}  FINE:
    table: p.fine
    upstream: [src]
    sql: sql/fine.sql
`);
  const stuck = "select d, id, payload from {{ ref('src') }}, read_csv('stalled.csv') where d between {{ start_date }} and {{ end_date }}\n";
  const p = await project(yaml, { 'sql/fine.sql': copySql('src'), 'sql/stuck.sql': stuck }, 1);
  execFileSync('mkfifo', [join(p.dir, 'stalled.csv')]);
  return p;
}

describe('dag run never hangs', () => {
  it('abandons a SELECT blocked reading a FIFO: TIMEOUT recorded, the run ends within timeout + 5 s, lock free, no process left', async () => {
    const p = await stalledProject('    timeout: 3s\n');
    const started = Date.now();
    const run = startRun(p.dir, ['--range', isoDay(0), '--json']);
    const result = await run.exited;
    const elapsed = Date.now() - started;
    expect(elapsed, result.stderr).toBeLessThan(3_000 + 5_000);
    const json = parseRunJson({ code: result.code, stdout: result.stdout, stderr: result.stderr });
    expect(processorOf(json, 'FINE').built).toEqual([isoDay(0)]);
    expect(processorOf(json, 'STUCK').failed).toEqual([
      { date: isoDay(0), category: 'TIMEOUT', message: expect.stringMatching(/^timed out after 3s .*abandoned/) },
    ]);
    expect(result.stderr).toMatch(/abandoned job is still stuck/);
    // The thread stuck in the kernel would keep a normal exit waiting: dag ends itself.
    expect(result.signal).toBe('SIGKILL');
    expect(existsSync(`${p.db}.lock`)).toBe(false);
    expect(processesIn(p.dir)).toEqual([]);
    expect(await queryRows(p.db, `select category from _dag.failures where processor = 'STUCK'`)).toEqual([{ category: 'TIMEOUT' }]);
    expect(await queryRows(p.db, `select outcome from _dag.runs where ended_at is not null`)).toEqual([{ outcome: 'failed' }]);
  });

  it('Ctrl-C during a batch: the summary says what the ledger says', async () => {
    // Six batches of one day, one at a time; each takes a while, so Ctrl-C lands in the middle.
    const yaml = pipelineYaml(`  A:
    table: p.a
    upstream: [src]
    sql: sql/a.sql
    batch_size: 1
`);
    const slow =
      "select d, id, payload from {{ ref('src') }} where d between {{ start_date }} and {{ end_date }} and (select count(*) from range(10000) a, range(2000) b where a.range + b.range = -1) = 0\n";
    const p = await project(yaml, { 'sql/a.sql': slow }, 6);
    const run = startRun(p.dir, ['--range', `${isoDay(0)}..${isoDay(5)}`, '--concurrency', '1']);
    await until(() => /^built {2}A /m.test(run.output()));
    run.child.kill('SIGINT');
    const result = await run.exited;
    expect(result.code, result.stderr).toBe(130);
    const runId = /^run (\S+) on target dev, .*: cancelled$/m.exec(result.stdout)?.[1];
    const ledger = (
      await queryRows(p.db, `select strftime(partition_date, '%Y-%m-%d') as day from _dag.partitions where processor = 'A' and run_id = '${runId}' order by 1`)
    ).map((r) => r.day);
    // Every "built" line, and the summary's count, is a committed partition of this run, and the reverse.
    const builtLines = [...result.stdout.matchAll(/^built {2}A (\S+) /gm)].map((m) => m[1]);
    expect(builtLines).toEqual(ledger);
    const row = /^A\s+(\d+)\s+(.*?)\s+0\s+0$/m.exec(result.stdout);
    expect(Number(row?.[1])).toBe(ledger.length);
    const failures = await queryRows(p.db, `select category, count(*)::INTEGER as n from _dag.failures where run_id = '${runId}' group by 1`);
    expect(row?.[2]).toBe(failures.length === 0 ? '-' : failures.map((f) => `${f.n} ${f.category}`).join(', '));
    // What was not started is said so, not reported as failed or as built.
    const notStarted = 6 - ledger.length - failures.reduce((n, f) => n + Number(f.n), 0);
    if (notStarted > 0) expect(result.stdout).toMatch(/^not started: the run was cancelled first/m);
  });

  it('a second Ctrl-C exits at once, even while a job ignores the first; the next run takes the lock over', async () => {
    const p = await stalledProject('');
    const run = startRun(p.dir, ['--range', isoDay(0)]);
    await until(() => /^built {2}FINE /m.test(run.output()));
    run.child.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const sent = Date.now();
    run.child.kill('SIGINT');
    const result = await run.exited;
    expect(Date.now() - sent).toBeLessThan(1_000);
    expect(result.signal).toBe('SIGINT');
    expect(result.stderr).toMatch(/SIGINT again: exiting now/);
    expect(processesIn(p.dir)).toEqual([]);
    const next = await p.dag(['run', '--range', isoDay(0), '--select', 'FINE', '--json']);
    expect(next.code, next.stderr).toBe(0);
  });
});

async function until(condition: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
