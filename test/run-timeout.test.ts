/**
 * Timeouts through the real CLI: a SQL query that would run for minutes is interrupted on its
 * connection; a command that sleeps and forks a grandchild (which even ignores SIGTERM) loses its
 * whole process group. Both are recorded as TIMEOUT and nothing of the group is left running.
 * The elapsed-time bound is deliberately loose (the jobs would otherwise run for minutes).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryRows } from './support/duckdb.js';
import { copySql, makeProject, parseRunJson, pipelineYaml, processorOf } from './fixtures/run/project.js';

/** Alive and not a zombie (a zombie has exited; only its parent has not reaped it yet). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' })
      .trim()
      .startsWith('Z');
  } catch {
    return false;
  }
}

describe('dag run timeouts', () => {
  it('interrupts a SQL query at its timeout and records TIMEOUT; siblings still build', async () => {
    const yaml = pipelineYaml(`  SLOW:
    table: p.slow
    upstream: [src]
    sql: sql/slow.sql
    timeout: 1s
    batch_size: 1
  FAST:
    table: p.fast
    upstream: [src]
    sql: sql/fast.sql
`);
    // DuckDB has no sleep(): a 10^13-row cross join filter keeps it busy for many minutes.
    const slow =
      "select d, id, payload from {{ ref('src') }} where d between {{ start_date }} and {{ end_date }} and (select count(*) from range(100000000) a, range(100000) b where a.range + b.range = -1) = 0\n";
    const project = await makeProject(yaml, { 'sql/slow.sql': slow, 'sql/fast.sql': copySql('src') }, 1);
    const started = Date.now();
    const result = await project.dag(['run', '--range', '2021-11-01', '--json']);
    const elapsed = Date.now() - started;
    expect(result.code, result.stderr).toBe(1);
    const json = parseRunJson(result);
    expect(processorOf(json, 'SLOW').failed).toEqual([{ date: '2021-11-01', category: 'TIMEOUT', message: expect.stringMatching(/^timed out after 1s/) }]);
    expect(processorOf(json, 'FAST').built).toEqual(['2021-11-01']);
    expect(elapsed).toBeLessThan(30_000);
    const failures = await queryRows(project.db, `select category, attempt from _dag.failures where processor = 'SLOW'`);
    expect(failures).toEqual([{ category: 'TIMEOUT', attempt: 1 }]);
  });

  it('kills a command and the grandchild it forked (SIGTERM, then SIGKILL) at its timeout', async () => {
    const yaml = pipelineYaml(`  CMD:
    table: p.cmd
    upstream: [src]
    command: [node, jobs/sleepy.mjs]
    timeout: 1s
    batch_size: 1
`);
    const sleepy = `import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
// A grandchild in the same process group that ignores SIGTERM: only SIGKILL to the group stops it.
const grandchild = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], { stdio: 'inherit' });
writeFileSync('pids.json', JSON.stringify({ child: process.pid, grandchild: grandchild.pid }));
console.log('sleeping');
setTimeout(() => {}, 600_000);
`;
    const project = await makeProject(yaml, { 'jobs/sleepy.mjs': sleepy }, 1);
    const started = Date.now();
    const result = await project.dag(['run', '--range', '2021-11-01', '--json']);
    const elapsed = Date.now() - started;
    expect(result.code, result.stderr).toBe(1);
    const json = parseRunJson(result);
    expect(processorOf(json, 'CMD').failed).toEqual([{ date: '2021-11-01', category: 'TIMEOUT', message: expect.stringMatching(/^timed out after 1s/) }]);
    expect(elapsed).toBeLessThan(30_000);
    const pids = JSON.parse(readFileSync(join(project.dir, 'pids.json'), 'utf8')) as { child: number; grandchild: number };
    expect(running(pids.child)).toBe(false);
    expect(running(pids.grandchild)).toBe(false);
    // The file is usable again: dag reopened it and recorded the failure.
    const failures = await queryRows(project.db, `select category from _dag.failures where processor = 'CMD'`);
    expect(failures).toEqual([{ category: 'TIMEOUT' }]);
  });

  it("counts a job's timeout from when it runs, not while it waits for a command holding the file", async () => {
    // CMD comes first in the plan and holds the DuckDB file exclusively for ~3 s; QUICK (timeout 1s)
    // is started meanwhile and must wait for the file, which is not its own slowness.
    const yaml = pipelineYaml(`  CMD:
    table: p.cmd
    upstream: [src]
    command: [node, -e, "setTimeout(() => {}, 3000)"]
    allow_empty: true
    batch_size: 1
  QUICK:
    table: p.quick
    upstream: [src]
    sql: sql/quick.sql
    timeout: 1s
    batch_size: 1
`);
    const project = await makeProject(yaml, { 'sql/quick.sql': copySql('src') }, 1);
    const result = await project.dag(['run', '--range', '2021-11-01', '--json']);
    const json = parseRunJson(result);
    expect(processorOf(json, 'QUICK').failed).toEqual([]);
    expect(processorOf(json, 'QUICK').built).toEqual(['2021-11-01']);
    expect(processorOf(json, 'CMD').built).toEqual(['2021-11-01']);
    expect(result.code, result.stderr).toBe(0);
  });
});
