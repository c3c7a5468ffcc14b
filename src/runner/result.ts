/** The run's result: the plan's batches and blocked partitions, with each partition's outcome from the book. */
import type { Day } from '../core/dates.js';
import type { Plan } from '../core/plan.js';
import type { PartitionBook } from './book.js';
import { partitionKey } from './jobs.js';
import type { FailedPartition, ProcessorResult, RunOutcome, RunResult } from './types.js';

export function buildResult(plan: Plan, book: PartitionBook, run: { runId: string; elapsedMs: number; cancelled: boolean; lingering: boolean }): RunResult {
  const processors: ProcessorResult[] = [];
  const totals = { built: 0, failed: 0, blocked: 0, upstreamFailed: 0, cancelled: 0, jobs: book.jobs, abandoned: book.abandoned };
  for (const processorPlan of plan.processors) {
    const result = {
      name: processorPlan.name,
      built: [] as Day[],
      failed: [] as FailedPartition[],
      blocked: processorPlan.partitions.filter((p) => p.action === 'blocked').map((p) => p.day),
      upstreamFailed: [] as Day[],
      cancelled: [] as Day[],
    };
    for (const batch of processorPlan.batches)
      for (const day of batch.days) {
        const outcome = book.outcomes.get(partitionKey(processorPlan.name, day));
        if (outcome === undefined || outcome.state === 'cancelled') result.cancelled.push(day);
        else if (outcome.state === 'built') result.built.push(day);
        else if (outcome.state === 'upstream-failed') result.upstreamFailed.push(day);
        else result.failed.push({ day, category: outcome.failure.category, message: outcome.failure.message });
      }
    totals.built += result.built.length;
    totals.failed += result.failed.length;
    totals.blocked += result.blocked.length;
    totals.upstreamFailed += result.upstreamFailed.length;
    totals.cancelled += result.cancelled.length;
    processors.push(result);
  }
  const outcome: RunOutcome = run.cancelled ? 'cancelled' : totals.failed + totals.upstreamFailed + totals.cancelled > 0 ? 'failed' : 'success';
  return {
    runId: run.runId,
    pipeline: plan.pipeline,
    target: plan.target,
    range: plan.range,
    processors,
    totals,
    lingering: run.lingering,
    elapsedMs: run.elapsedMs,
    outcome,
  };
}
