/**
 * Turns a Plan into jobs and the partition-level dependencies between them. A job waits for the
 * in-plan partitions it reads (inputsOf, day by day), not for whole upstream processors, so March of
 * PCF can start while April of PSZA is still building. Processors that read their own earlier
 * partitions get one job per partition, each ordered after the previous one.
 */
import type { Day } from '../core/dates.js';
import { readsItself, type Pipeline, type Processor } from '../core/model.js';
import type { Plan } from '../core/plan.js';
import type { InputsOf } from './types.js';

/** `processor\u0000day`: one partition of one processor. */
export type PartitionKey = string;

export function partitionKey(processor: string, day: Day): PartitionKey {
  return `${processor}\u0000${day}`;
}

export interface Job {
  /** Order in the plan (topological rank, then date); ready jobs start lowest first. */
  readonly index: number;
  readonly processor: Processor;
  /** Calendar partitions of the batch, ascending. */
  readonly days: readonly Day[];
  /** Per day: the in-plan partitions (of other jobs) it reads. */
  readonly inputsByDay: ReadonlyMap<Day, readonly PartitionKey[]>;
  /** Every in-plan partition any day reads; the job is ready when all are settled. */
  readonly inputs: ReadonlySet<PartitionKey>;
  /** Self-reading processors: the previous job of the same processor, which must finish first. */
  readonly after: Job | undefined;
}

export interface JobGraph {
  readonly jobs: readonly Job[];
  /** Partitions to build, by processor, for progress totals. */
  readonly totals: ReadonlyMap<string, number>;
}

export function buildJobGraph(pipeline: Pipeline, plan: Plan, inputsOf: InputsOf): JobGraph {
  const planned = new Set<PartitionKey>();
  const totals = new Map<string, number>();
  for (const processorPlan of plan.processors) {
    let count = 0;
    for (const batch of processorPlan.batches)
      for (const day of batch.days) {
        planned.add(partitionKey(processorPlan.name, day));
        count += 1;
      }
    totals.set(processorPlan.name, count);
  }

  const jobs: Job[] = [];
  for (const processorPlan of plan.processors) {
    const node = pipeline.nodes.get(processorPlan.name);
    if (node?.kind !== 'processor') throw new Error(`plan names ${processorPlan.name}, which is not a processor of the pipeline`);
    const oneByOne = readsItself(node);
    let previous: Job | undefined;
    for (const batch of processorPlan.batches) {
      const groups = oneByOne ? batch.days.map((day) => [day]) : [batch.days];
      for (const days of groups) {
        const own = new Set(days.map((day) => partitionKey(node.name, day)));
        const inputsByDay = new Map<Day, PartitionKey[]>();
        const inputs = new Set<PartitionKey>();
        for (const day of days) {
          const keys: PartitionKey[] = [];
          for (const upstream of inputsOf(node, day))
            for (const upstreamDay of upstream.days) {
              const key = partitionKey(upstream.upstream, upstreamDay);
              if (planned.has(key) && !own.has(key)) {
                keys.push(key);
                inputs.add(key);
              }
            }
          inputsByDay.set(day, keys);
        }
        const job: Job = { index: jobs.length, processor: node, days, inputsByDay, inputs, after: oneByOne ? previous : undefined };
        jobs.push(job);
        previous = job;
      }
    }
  }
  return { jobs, totals };
}

/** Splits ascending calendar days into runs that were adjacent in `all` (a batch must stay contiguous). */
export function contiguousRuns(all: readonly Day[], keep: ReadonlySet<Day>): Day[][] {
  const runs: Day[][] = [];
  let current: Day[] = [];
  for (const day of all) {
    if (keep.has(day)) current.push(day);
    else if (current.length > 0) {
      runs.push(current);
      current = [];
    }
  }
  if (current.length > 0) runs.push(current);
  return runs;
}
