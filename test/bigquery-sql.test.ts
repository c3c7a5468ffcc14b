/**
 * Golden files pin every SQL string the BigQuery adapter emits. Set UPDATE_GOLDEN=1 to rewrite them
 * after an intended change, then read the diff.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseIsoDate } from '../src/core/dates.js';
import {
  acquireLockScript,
  compactLedgerScript,
  partitionBytesSql,
  relayoutScript,
  lockColumnsDdl,
  recordLockGroupsSql,
  batchScript,
  commandLedgerSql,
  dropProcessorSql,
  failuresSql,
  inventorySql,
  ledgerColumnsSql,
  ledgerDdl,
  ledgerNamesSql,
  ledgerSql,
  ledgerVersionSql,
  migrateScript,
  commandFindingsSql,
  partitionsOfTableSql,
  recordBatchesSql,
  recordFailuresSql,
  recordRunSql,
  releaseLockSql,
} from '../src/warehouse/bigquery/sql.js';
import { labelValue } from '../src/warehouse/bigquery/jobs.js';
import { classify } from '../src/warehouse/bigquery/errors.js';

const goldenDir = join(dirname(fileURLToPath(import.meta.url)), 'golden', 'bigquery');
const d = (iso: string) => parseIsoDate(iso) ?? 0;

function golden(name: string, text: string): void {
  const file = join(goldenDir, `${name}.sql`);
  if (process.env.UPDATE_GOLDEN || !existsSync(file)) {
    mkdirSync(goldenDir, { recursive: true });
    writeFileSync(file, `${text}\n`);
  }
  expect(`${text}\n`).toBe(readFileSync(file, 'utf8'));
}

describe('bigquery SQL goldens', () => {
  it('snapshot queries', () => {
    golden('inventory', inventorySql('my-project', 'precompute'));
    golden('ledger', ledgerSql('my-project', '_dag'));
    golden('failures', failuresSql('my-project', '_dag'));
    golden('ledger-names', ledgerNamesSql('my-project', '_dag'));
    golden('ledger-check', `${ledgerColumnsSql('my-project', '_dag')};\n${ledgerVersionSql('my-project', '_dag')}`);
    // A version-1 ledger, read as such by a plan: by processor name, no table.
    golden(
      'ledger-v1',
      [ledgerSql('my-project', '_dag', false), ledgerNamesSql('my-project', '_dag', false), failuresSql('my-project', '_dag', false)].join(';\n'),
    );
  });

  it('batch script', () => {
    const batch = {
      project: 'my-project',
      ledgerDataset: '_dag',
      table: { schema: 'precompute', name: 'player_daily_cache' },
      partitionColumn: 'game_date',
      start: d('2021-11-01'),
      end: d('2021-11-07'),
      select: "SELECT game_date, x FROM `my-project.raw.t` WHERE game_date BETWEEN DATE '2021-11-01' AND DATE '2021-11-07'",
    };
    golden('batch', batchScript({ ...batch, columns: ['game_date', 'x'] }));
    golden(
      'batch-schema-change',
      batchScript({
        ...batch,
        createTable: false,
        columns: ['x', 'game_date', 'tag', 'n'],
        changes: [
          { kind: 'add', column: { name: 'tag', type: 'STRING' } },
          { kind: 'widen', name: 'x', from: 'INT64', to: 'FLOAT64' },
          { kind: 'add', column: { name: 'n', type: 'ARRAY<INT64>' } },
        ],
      }),
    );
    golden(
      'batch-checks',
      batchScript({
        ...batch,
        columns: ['game_date', 'x'],
        checks: { findings: 'CREATE TEMP TABLE _dag_findings AS\nSELECT ...\n;', record: '-- the findings into _dag.checks' },
      }),
    );
    golden('drop-processor', dropProcessorSql('my-project', '_dag', { schema: 'precompute', name: 'player_daily_cache' }));
  });

  it('ledger, command and lock statements', () => {
    golden('ledger-ddl', ledgerDdl('my-project', '_dag'));
    golden('ledger-migrate-v1', migrateScript('my-project', '_dag', 1, true));
    golden('ledger-migrate-v2', migrateScript('my-project', '_dag', 2, false));
    golden('record-batches', recordBatchesSql('my-project', '_dag'));
    golden('command-findings', commandFindingsSql('my-project', '_dag'));
    golden('command-partitions', partitionsOfTableSql('my-project', { schema: 'predictions', name: 'ml_feature_store_v2' }, d('2021-11-01'), d('2021-11-07')));
    golden('command-ledger', commandLedgerSql('my-project', '_dag'));
    golden('record-run', recordRunSql('my-project', '_dag'));
    golden('record-failure', recordFailuresSql('my-project', '_dag'));
    golden('acquire-lock', acquireLockScript('my-project', '_dag'));
    golden('acquire-lock-takeover', acquireLockScript('my-project', '_dag', true));
    golden('ledger-relayout', `${relayoutScript('my-project', '_dag')}\n-- resuming an interrupted one:\n${relayoutScript('my-project', '_dag', true)}`);
    golden('ledger-compact', compactLedgerScript('my-project', '_dag'));
    golden('partition-bytes', partitionBytesSql('my-project', 'precompute'));
    golden('lock-groups', `${recordLockGroupsSql('my-project', '_dag')};\n${lockColumnsDdl('my-project', '_dag')}`);
    golden('release-lock', releaseLockSql('my-project', '_dag'));
  });
});

describe('bigquery details', () => {
  it('label values are made acceptable to BigQuery', () => {
    expect(labelValue('MLFS')).toBe('mlfs');
    expect(labelValue('2021-11-01T10:00:00Z-abc')).toBe('2021-11-01t10_00_00z-abc');
    expect(labelValue('x'.repeat(100))).toHaveLength(63);
  });

  it('classifies errors by reason, status and message', () => {
    expect(classify({ code: 400, errors: [{ reason: 'invalidQuery', message: 'Syntax error' }] })).toBe('PROCESSOR_ERROR');
    expect(classify({ code: 403, errors: [{ reason: 'accessDenied' }] })).toBe('PROCESSOR_ERROR');
    expect(classify({ code: 404, errors: [{ reason: 'notFound' }] })).toBe('PROCESSOR_ERROR');
    expect(classify({ code: 403, errors: [{ reason: 'rateLimitExceeded' }] })).toBe('TRANSIENT');
    expect(classify({ code: 429 })).toBe('TRANSIENT');
    expect(classify({ code: 503 })).toBe('TRANSIENT');
    expect(classify({ code: 400, errors: [{ reason: 'invalidQuery', message: 'Transaction is aborted due to concurrent update against table p.d.t' }] })).toBe(
      'TRANSIENT',
    );
    expect(classify({ code: 400, message: 'dag:OUT_OF_RANGE_ROWS: rows outside', errors: [{ reason: 'invalidQuery' }] })).toBe('OUT_OF_RANGE_ROWS');
    expect(classify({ code: 'ECONNRESET', message: 'socket hang up' })).toBe('TRANSIENT');
  });
});

describe('bigquery check SQL', () => {
  it('pins one query per check over the staged rows, and the findings record', async () => {
    const { findingsSelect, recordFindingsSql } = await import('../src/warehouse/bigquery/checks.js');
    const { loadTestPipeline } = await import('./bigquery-helpers.js');
    const { startBqServer } = await import('./bq-server/server.js');
    const server = await startBqServer();
    try {
      const { pipeline } = await loadTestPipeline(server);
      const processor = pipeline.processors.find((p) => p.name === 'DOUBLED');
      if (!processor) throw new Error('no DOUBLED');
      const checked = {
        ...processor,
        checks: [
          { name: 'not_null(team)', severity: 'error' as const, rule: { kind: 'not_null' as const, columns: ['team'] } },
          { name: 'unique(team)', severity: 'error' as const, rule: { kind: 'unique' as const, columns: ['team'] } },
          { name: 'row_count(min=1)', severity: 'warn' as const, rule: { kind: 'row_count' as const, min: 1, max: undefined } },
          { name: 'accepted_values(team)', severity: 'error' as const, rule: { kind: 'accepted_values' as const, column: 'team', values: ["it's", 2, true] } },
          { name: 'known', severity: 'error' as const, rule: { kind: 'relationships' as const, column: 'team', to: 'games', field: 'team' } },
        ],
      };
      const days = [d('2021-11-01'), d('2021-11-02')];
      const job = { pipeline, processor: checked, batch: { start: days[0] ?? 0, end: days[1] ?? 0, days }, runId: 'r', builtAt: 0, codeFingerprint: 'c' };
      const target = pipeline.targets.get('bq');
      if (target?.type !== 'bigquery') throw new Error('no bq target');
      golden('checks', `${findingsSelect(target, job, '_dag_rows')};\n${recordFindingsSql('my-project', '_dag')}`);
    } finally {
      await server.close();
    }
  });
});
