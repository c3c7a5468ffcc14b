/**
 * A command processor writes its rows itself, and dag writes the ledger only after the command exits.
 * A command that wrote (part of) its rows and then failed, or whose dag was killed before the ledger
 * write, must not leave partitions the next plan takes as fresh: they are rebuilt, and afterwards the
 * data and the ledger agree partition by partition.
 */
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { projectRoot } from './support/cli.js';
import { countsByDay, isoDay, ledgerByDay, makeProject, parseRunJson, pipelineYaml, processorOf, sourceRows } from './fixtures/run/project.js';

const RANGE = `${isoDay(0)}..${isoDay(3)}`;
const yaml = pipelineYaml(`  CMD:
    table: p.cmd
    upstream: [src]
    command: [node, jobs/cmd.mjs]
    batch_size: 1
  DOWN:
    table: p.down
    upstream: [CMD]
    sql: sql/down.sql
`);

/**
 * Copies raw.src into p.cmd for its day. If the file `crash` exists (the test creates it) the first
 * invocation removes it, writes its day, closes the file, and then either exits 1 (`crash` says "exit")
 * or kills dag with SIGKILL (`crash` says "kill"): a command that fails, or a dag that dies, after writing.
 */
function script(): string {
  const duckdb = createRequire(join(projectRoot, 'package.json')).resolve('@duckdb/node-api');
  return `import { DuckDBInstance } from ${JSON.stringify(duckdb)};
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
const crash = existsSync('crash') ? readFileSync('crash', 'utf8').trim() : '';
if (crash) unlinkSync('crash');
const from = process.env.DAG_START_DATE;
const to = process.env.DAG_END_DATE;
const instance = await DuckDBInstance.create(process.env.DAG_DUCKDB_PATH);
const db = await instance.connect();
await db.run("create schema if not exists p");
await db.run("create table if not exists p.cmd (d DATE, id INTEGER, payload VARCHAR)");
await db.run(\`delete from p.cmd where d between DATE '\${from}' and DATE '\${to}'\`);
await db.run(\`insert into p.cmd select d, id, payload from raw.src where d between DATE '\${from}' and DATE '\${to}'\`);
db.disconnectSync();
instance.closeSync();
if (crash === 'kill') process.kill(process.ppid, 'SIGKILL');
if (crash) process.exit(1);
`;
}

const downSql = `select d, id, payload from {{ ref('CMD') }} where d between {{ start_date }} and {{ end_date }}\n`;

async function expectAgreement(db: string, name: string, table: string): Promise<void> {
  expect(await countsByDay(db, table), `${name}: data vs ledger`).toEqual(await ledgerByDay(db, name));
}

describe('a command batch that wrote rows but did not finish', () => {
  for (const how of ['exit', 'kill'] as const) {
    it(`(${how === 'exit' ? 'it exited 1' : 'dag was killed -9'}) is rebuilt by the next plan and run, never taken as fresh`, async () => {
      const project = await makeProject(yaml, { 'jobs/cmd.mjs': script(), 'sql/down.sql': downSql }, 4);
      writeFileSync(join(project.dir, 'crash'), how);
      const first = await project.dag(['run', '--range', RANGE, '--json', '--concurrency', '1']);
      if (how === 'exit') {
        expect(first.code, first.stderr).toBe(1);
        expect(processorOf(parseRunJson(first), 'CMD').failed[0]?.category).toBe('PROCESSOR_ERROR');
      } else expect(first.code).toBeNull();
      expect(existsSync(join(project.dir, 'crash'))).toBe(false);
      // Day 0 has rows the failed command wrote, but no ledger row says a finished batch wrote them.
      expect((await countsByDay(project.db, 'p.cmd')).get(isoDay(0))).toBe(sourceRows(0));

      const planned = JSON.parse((await project.dag(['plan', '--range', RANGE, '--json'])).stdout) as {
        processors: { name: string; partitions: { date: string; action: string }[] }[];
      };
      const builds = (name: string) =>
        planned.processors
          .find((p) => p.name === name)
          ?.partitions.filter((p) => p.action === 'build')
          .map((p) => p.date);
      const all = [0, 1, 2, 3].map(isoDay);
      // Exit 1: the other days were built after it; kill: dag died on the first day.
      const expected = how === 'exit' ? [isoDay(0)] : all;
      expect(builds('CMD')).toEqual(expected);
      expect(builds('DOWN')).toEqual(expected);
      // The reader is told why in words, not only by a changed fingerprint.
      const text = (await project.dag(['plan', '--range', RANGE])).stdout;
      expect(text).toMatch(/CMD .*code_changed \(its command did not finish in run \S+: rebuilt, not trusted\)/);

      const rerun = await project.dag(['run', '--range', RANGE, '--json']);
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(processorOf(parseRunJson(rerun), 'CMD').built).toEqual(expected);
      await expectAgreement(project.db, 'CMD', 'p.cmd');
      await expectAgreement(project.db, 'DOWN', 'p.down');
      for (let i = 0; i < 4; i++) expect((await ledgerByDay(project.db, 'CMD')).get(isoDay(i))).toBe(sourceRows(i));
      const again = await project.dag(['run', '--range', RANGE, '--json']);
      expect(parseRunJson(again).totals.built).toBe(0);
      if (existsSync(join(project.dir, 'crash'))) unlinkSync(join(project.dir, 'crash'));
    });
  }
});
