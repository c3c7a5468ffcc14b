/**
 * Orphans: kill -9 of `dag run` while its command runs leaves the command alive (it is its own process
 * group). The lock records that group, so an immediate second run ends it before it takes the lock
 * over: the orphan never writes beside the new run, and no partition the ledger calls fresh holds the
 * orphan's rows. Also: a lock whose pid now belongs to another process, and a lock file dag cannot read.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireFileLock } from '../src/warehouse/duckdb/lock.js';
import type { LockOwner } from '../src/warehouse/port.js';
import { processStartTime } from '../src/warehouse/process.js';
import { dagBin, projectRoot } from './support/cli.js';
import { queryRows } from './support/duckdb.js';
import { copySql, isoDay, makeProject, parseRunJson, pipelineYaml, type Project } from './fixtures/run/project.js';

const made: Project[] = [];
afterAll(() => {
  for (const project of made) rmSync(project.dir, { recursive: true, force: true });
});

const DAYS = 8;
const RANGE = `${isoDay(0)}..${isoDay(DAYS - 1)}`;

/**
 * Writes its days one by one, opening the file for each (waiting while another process has it open),
 * tagging every row with the run it works for; `started-<run>` holds its pid. The first run's command
 * is slow (500 ms a day), the next one's fast: an orphan would write after the rerun finished.
 */
function slowWriter(): string {
  const duckdb = createRequire(join(projectRoot, 'package.json')).resolve('@duckdb/node-api');
  return `import { DuckDBInstance } from ${JSON.stringify(duckdb)};
import { readdirSync, writeFileSync } from 'node:fs';
const pause = readdirSync('.').some((name) => name.startsWith('started-')) ? 0 : 500;
writeFileSync('started-' + process.env.DAG_RUN_ID, String(process.pid));
const first = Date.parse(process.env.DAG_START_DATE);
const last = Date.parse(process.env.DAG_END_DATE);
for (let t = first; t <= last; t += 86400000) {
  await new Promise((resolve) => setTimeout(resolve, pause));
  const day = new Date(t).toISOString().slice(0, 10);
  // Like a robust job, it waits while another process has the file open.
  let instance;
  for (;;) {
    try {
      instance = await DuckDBInstance.create(process.env.DAG_DUCKDB_PATH);
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const db = await instance.connect();
  await db.run("create schema if not exists p");
  await db.run("create table if not exists p.cmd (d DATE, run VARCHAR)");
  await db.run("begin transaction");
  await db.run(\`delete from p.cmd where d = DATE '\${day}'\`);
  await db.run(\`insert into p.cmd values (DATE '\${day}', '\${process.env.DAG_RUN_ID}')\`);
  await db.run("commit");
  db.disconnectSync();
  instance.closeSync();
}
`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('orphaned commands', () => {
  it('kill -9 while a command runs, immediate rerun: the orphan is ended first, nothing fresh holds its rows', async () => {
    const yaml = pipelineYaml(`  CMD:
    table: p.cmd
    upstream: [src]
    command: [node, jobs/writer.mjs]
    batch_size: ${DAYS}
    timeout: 60s
`);
    const project = await makeProject(yaml, { 'jobs/writer.mjs': slowWriter() }, DAYS);
    made.push(project);
    const first = spawn(process.execPath, [dagBin, 'run', '--range', RANGE], { cwd: project.dir, env: { ...process.env, NO_COLOR: '1' }, stdio: 'ignore' });
    const firstGone = new Promise((resolve) => first.on('close', resolve));
    // Once the command has written a day or two, kill dag (not its command).
    const deadline = Date.now() + 30_000;
    const started = () => startedPid(project.dir);
    while (started() === 0 && Date.now() < deadline) await sleep(20);
    await sleep(600);
    first.kill('SIGKILL');
    await firstGone;
    const orphan = started();
    expect(alive(orphan), 'the command outlives a kill -9 of dag').toBe(true);

    const rerun = await project.dag(['run', '--range', RANGE, '--json']);
    expect(rerun.code, rerun.stderr).toBe(0);
    const json = parseRunJson(rerun);
    expect(alive(orphan)).toBe(false);
    // Had the orphan lived, it would have gone on writing for a few seconds: give it that time.
    await sleep(4_000);
    const rows = await queryRows(project.db, `select strftime(d, '%Y-%m-%d') as day, run from p.cmd order by 1`);
    expect(rows).toEqual(Array.from({ length: DAYS }, (_, i) => ({ day: isoDay(i), run: json.run_id })));
    const ledger = await queryRows(
      project.db,
      `select strftime(partition_date, '%Y-%m-%d') as day, run_id from _dag.partitions where processor = 'CMD' order by 1`,
    );
    expect(ledger).toEqual(Array.from({ length: DAYS }, (_, i) => ({ day: isoDay(i), run_id: json.run_id })));
  });
});

/** The pid the first run's command wrote, 0 until it started. */
function startedPid(dir: string): number {
  const file = readdirSync(dir).find((name) => name.startsWith('started-'));
  return file ? Number(readFileSync(join(dir, file), 'utf8')) : 0;
}

const oneProcessor = pipelineYaml(`  A:
    table: p.a
    upstream: [src]
    sql: sql/a.sql
`);

describe('the DuckDB lock file', () => {
  const me: LockOwner = { runId: 'me', pid: process.pid, host: hostname(), since: Date.now(), commandLine: 'run' };

  it('is taken over when its pid now belongs to another process (the start time differs)', async () => {
    const project = await makeProject(oneProcessor, { 'sql/a.sql': copySql('src') }, 1);
    made.push(project);
    const lockPath = `${project.db}.lock`;
    // Our own pid, alive, but recorded with another start time: the owner died and the pid was reused.
    writeFileSync(lockPath, JSON.stringify({ runId: 'ghost', pid: process.pid, host: hostname(), since: 1, commandLine: 'run', processStart: '1' }));
    expect(processStartTime(process.pid)).not.toBe('1');
    expect(await acquireFileLock(lockPath, me, 0)).toEqual({ ok: true });
    expect((JSON.parse(readFileSync(lockPath, 'utf8')) as LockOwner).runId).toBe('me');
  });

  it('empty or unreadable: dag run says how to clear it and exits 2', async () => {
    const project = await makeProject(oneProcessor, { 'sql/a.sql': copySql('src') }, 1);
    made.push(project);
    for (const content of ['', 'garbage{']) {
      writeFileSync(`${project.db}.lock`, content);
      const result = await project.dag(['run', '--range', isoDay(0)]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^dag: the lock file .*run\.duckdb\.lock (is empty|is not JSON); dag never writes a lock like that/m);
      expect(result.stderr).toMatch(/hint: if no dag run is using this target .*, remove it: rm .*run\.duckdb\.lock/);
    }
  });
});
