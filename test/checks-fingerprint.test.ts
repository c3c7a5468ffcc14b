/** Checks are part of the code fingerprint (DESIGN §9), and only for processors that have checks. */
import { describe, expect, it } from 'vitest';
import { codeFingerprint } from '../src/core/fingerprint.js';
import type { Check } from '../src/core/model.js';
import { selectedColumns } from '../src/config/select-columns.js';
import { sqlProcessor } from './support/duckdb-pipeline.js';

const base = sqlProcessor('P', 'out.p', 'select d, id from t');
const notNull: Check = { name: 'not_null(id)', severity: 'error', rule: { kind: 'not_null', columns: ['id'] } };
const sqlCheck = (text: string): Check => ({ name: 'c', severity: 'error', rule: { kind: 'sql', file: '/p/checks/c.sql', text } });

describe('checks in the code fingerprint', () => {
  it('leaves a processor without checks as it was, and changes with a check added or changed', () => {
    // Pinned before checks existed: a processor without checks must keep it (its partitions stay fresh).
    expect(codeFingerprint(base)).toBe(codeFingerprint({ ...base, checks: [] }));
    const withCheck = codeFingerprint({ ...base, checks: [notNull] });
    expect(withCheck).not.toBe(codeFingerprint(base));
    expect(codeFingerprint({ ...base, checks: [{ ...notNull, severity: 'warn' }] })).not.toBe(withCheck);
    expect(codeFingerprint({ ...base, checks: [{ ...notNull, rule: { kind: 'not_null', columns: ['id', 'd'] } }] })).not.toBe(withCheck);
  });

  it('reads a sql check by its normalised text: reformatting does not count, editing does', () => {
    const a = codeFingerprint({ ...base, checks: [sqlCheck('select d from {{ this }} where id < 0')] });
    expect(codeFingerprint({ ...base, checks: [sqlCheck('select d\n  from {{ this }} -- negative ids\n where id < 0\n')] })).toBe(a);
    expect(codeFingerprint({ ...base, checks: [sqlCheck('select d from {{ this }} where id < 1')] })).not.toBe(a);
  });
});

describe('the columns validate can read from a SELECT', () => {
  it('knows plain columns and AS names, and nothing when the list has a * or an implicit alias', () => {
    expect(selectedColumns('select d, t.id, count(*) as n, case when a then 1 end AS "Flag" from {{ ref(\'x\') }} t group by 1, 2')).toEqual(
      new Set(['d', 'id', 'n', 'flag']),
    );
    expect(selectedColumns('with w as (select a from t) select distinct w.a, extract(year from d) as y from w')).toEqual(new Set(['a', 'y']));
    expect(selectedColumns('select * from t')).toBeUndefined();
    expect(selectedColumns('select a + 1 b from t')).toBeUndefined();
  });
});
