/** Folds partition outcomes and the plan's blocked partitions into the run's result. */
import type { Day } from '../core/dates.js';
import type { Plan } from '../core/plan.js';
import type { FailureCategory } from '../warehouse/port.js';
import { partitionKey } from './jobs.js';
import type { Outcomes } from './scheduler.js';
import type { ProcessorResult, RunOutcome, RunResult } from './types.js';

export function buildResult(
  plan: Plan,
  outcomes: Outcomes,
  run: { runId: string; elapsedMs: number; jobs: number; cancelled: boolean },
): RunResult {
  const processors: ProcessorResult[] = [];
  let built = 0;
  let failed = 0;
  let blocked = 0;
  let upstreamFailed = 0;
  for (const processorPlan of plan.processors) {
    const result = {
      name: processorPlan.name,
      built: [] as Day[],
      failed: [] as { day: Day; category: FailureCategory; message: string }[],
      blocked: processorPlan.partitions.filter((p) => p.action === 'blocked').map((p) => p.day),
      upstreamFailed: [] as Day[],
    };
    for (const batch of processorPlan.batches)
      for (const day of batch.days) {
        const outcome = outcomes.get(partitionKey(processorPlan.name, day));
        if (outcome === undefined) result.failed.push({ day, category: 'CANCELLED', message: 'not started' });
        else if (outcome.state === 'built') result.built.push(day);
        else if (outcome.category === 'UPSTREAM_FAILED') result.upstreamFailed.push(day);
        else result.failed.push({ day, category: outcome.category, message: outcome.message });
      }
    built += result.built.length;
    failed += result.failed.length;
    blocked += result.blocked.length;
    upstreamFailed += result.upstreamFailed.length;
    processors.push(result);
  }
  const outcome: RunOutcome = run.cancelled ? 'cancelled' : failed + upstreamFailed > 0 ? 'failed' : 'success';
  return {
    runId: run.runId,
    pipeline: plan.pipeline,
    target: plan.target,
    range: plan.range,
    processors,
    totals: { built, failed, blocked, upstreamFailed, jobs: run.jobs },
    elapsedMs: run.elapsedMs,
    outcome,
  };
}
