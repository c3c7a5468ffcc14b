/**
 * A BigQuery job cancelled by dag (timeout, Ctrl-C) may have finished before the cancel landed
 * (BigQuery cancels on a best-effort basis): then it committed, and dag must say so, not CANCELLED.
 */
import type { BigQuery, Job } from '@google-cloud/bigquery';
import { describe, expect, it } from 'vitest';
import { JobCancelled, runJob } from '../src/warehouse/bigquery/jobs.js';
import type { BigqueryTarget } from '../src/core/model.js';

const target = { type: 'bigquery', name: 'bq', project: 'p', location: 'US', ledgerSchema: '_dag', labels: {} } as unknown as BigqueryTarget;

/** A job whose results never come by polling; `cancel` reports the state `finalState` it had reached. */
function client(finalState: { state: string; errorResult?: unknown }): BigQuery {
  let cancelled = false;
  const job = {
    id: 'job-1',
    getQueryResults: () => (cancelled ? Promise.resolve([[{ partition_date: '2021-11-01', row_count: 3 }]]) : new Promise(() => {})),
    cancel: async () => {
      cancelled = true;
      return [{ job: { status: finalState } }];
    },
    getMetadata: async () => [{ status: finalState }],
  } as unknown as Job;
  return { createQueryJob: async () => [job] } as unknown as BigQuery;
}

describe('cancelling a BigQuery job', () => {
  it('reports a job that finished before its cancel as finished, with its rows', async () => {
    const controller = new AbortController();
    const running = runJob(client({ state: 'DONE' }), 'select 1', undefined, { target, signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    expect(await running).toEqual([{ partition_date: '2021-11-01', row_count: 3 }]);
  });

  it('reports a job the cancel stopped as cancelled', async () => {
    const controller = new AbortController();
    const running = runJob(client({ state: 'DONE', errorResult: { reason: 'stopped' } }), 'select 1', undefined, { target, signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    await expect(running).rejects.toBeInstanceOf(JobCancelled);
  });
});
