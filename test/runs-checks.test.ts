/**
 * `dag runs RUN_ID` lists the run's data-check findings (docs/running.md, docs/checks.md): through
 * the real CLI on a DuckDB file, a run with an error finding and a warn finding shows both, in text
 * grouped by processor and check with compacted dates, and in `--json` (validated against
 * schema/runs-output.schema.json) as `checks`; the report page lists them in its "Check findings".
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import { projectRoot } from './support/cli.js';
import { isoDay, makeProject, parseRunJson, pipelineYaml } from './fixtures/run/project.js';

const RANGE = `${isoDay(0)}..${isoDay(6)}`;
const copy = (id: string) => `select d, ${id} as id, payload from {{ ref('src') }} where d between {{ start_date }} and {{ end_date }}\n`;

const schema = JSON.parse(readFileSync(join(projectRoot, 'schema', 'runs-output.schema.json'), 'utf8')) as object;
const validate = new Ajv({ allErrors: true }).compile(schema);

interface ChecksJson {
  checks: { processor: string; check: string; severity: string; count: number; dates: string[]; offending_rows: number; sample: unknown }[];
  checks_truncated: boolean;
}

describe('dag runs RUN_ID shows check findings (DuckDB)', () => {
  it('lists an error finding and a warn finding of one run, in text and --json', async () => {
    // P: id NULL on day 2 (3 rows), failing not_null; Q: ids 0..2, id 2 (days 2 and 5) only warns.
    const yaml = pipelineYaml(`  P:
    table: p.p
    upstream: [src]
    sql: sql/p.sql
    batch_size: 7
    checks:
      - not_null: [id]
  Q:
    table: p.q
    upstream: [src]
    sql: sql/q.sql
    batch_size: 7
    checks:
      - accepted_values: { column: id, values: [0, 1] }
        severity: warn
        name: low_ids
`);
    const project = await makeProject(yaml, { 'sql/p.sql': copy(`case when d = DATE '${isoDay(2)}' then null else id end`), 'sql/q.sql': copy('id') }, 7);
    const run = await project.dag(['run', '--range', RANGE, '--json']);
    expect(run.code, run.stderr).toBe(1);
    const runId = parseRunJson(run).run_id;

    const text = await project.dag(['runs', runId]);
    expect(text.code, text.stderr).toBe(0);
    const section = text.stdout.slice(text.stdout.indexOf('Checks:'));
    expect(section).toContain(`P  error not_null(id) ${isoDay(2)}: 3 offending rows, e.g. {"d":"${isoDay(2)}","id":null,"payload":"${isoDay(2)}#0"}`);
    expect(section).toMatch(
      new RegExp(
        `Q  warn  low_ids ×2 ${isoDay(2)}.*${isoDay(5).slice(5)}: 2 offending rows, e\\.g\\. \\{"d":"${isoDay(2)}","id":2,"payload":"${isoDay(2)}#2"\\}`,
      ),
    );

    const json = await project.dag(['runs', runId, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as ChecksJson;
    expect(validate(parsed), JSON.stringify(validate.errors)).toBe(true);
    expect(parsed.checks).toEqual([
      {
        processor: 'P',
        check: 'not_null(id)',
        severity: 'error',
        count: 1,
        dates: [isoDay(2)],
        offending_rows: 3,
        sample: { d: isoDay(2), id: null, payload: `${isoDay(2)}#0` },
      },
      {
        processor: 'Q',
        check: 'low_ids',
        severity: 'warn',
        count: 2,
        dates: [isoDay(2), isoDay(5)],
        offending_rows: 2,
        sample: { d: isoDay(2), id: 2, payload: `${isoDay(2)}#2` },
      },
    ]);
    expect(parsed.checks_truncated).toBe(false);

    // The report page lists the recent runs' findings, errors first, next to the failures by category.
    const report = await project.dag(['report', '--range', RANGE, '--out', 'report.html']);
    expect(report.code, report.stderr).toBe(0);
    const html = readFileSync(join(project.dir, 'report.html'), 'utf8');
    const checks = html.slice(html.indexOf('<section id="checks">'));
    expect(checks).toContain('<h2>Check findings</h2>');
    expect(checks).toMatch(
      /<td class="severity error">error<\/td><td>P<\/td><td><code>not_null\(id\)<\/code><\/td><td class="num">1<\/td><td>[^<]*<\/td><td class="num">3<\/td>/,
    );
    expect(checks).toMatch(
      /<td class="severity warn">warn<\/td><td>Q<\/td><td><code>low_ids<\/code><\/td><td class="num">2<\/td><td>[^<]*<\/td><td class="num">2<\/td>/,
    );
    expect(checks.indexOf('severity error')).toBeLessThan(checks.indexOf('severity warn'));
    expect(checks).toContain(runId);
  });
});
