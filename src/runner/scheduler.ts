/**
 * Runs a job graph: starts every job whose input partitions are settled, up to the global
 * concurrency and each processor's own, and keeps going after failures (make -k). Days of a job
 * that read a failed partition become UPSTREAM_FAILED and are left untouched; the other days still
 * run, as contiguous sub-batches. A multi-partition batch that fails is retried one partition at a
 * time, so one bad day does not sink a month.
 */
import type { Day } from '../core/dates.js';
import { formatDay } from '../core/dates.js';
import type { JobFailure } from '../warehouse/port.js';
import { recordBuilt, recordFailure, runBatch, type BatchAnswer, type RunContext } from './attempt.js';
import { contiguousRuns, partitionKey, type Job, type JobGraph, type PartitionKey } from './jobs.js';
import type { PartitionOutcome } from './types.js';

/** Final state of every partition of the graph, keyed by partitionKey. */
export type Outcomes = Map<PartitionKey, PartitionOutcome>;

/** Failures worth a per-partition retry: everything but a cancelled run and a command's missing output. */
function worthSplitting(failure: JobFailure): boolean {
  return failure.category !== 'CANCELLED' && failure.category !== 'NO_OUTPUT';
}

export function schedule(context: RunContext, graph: JobGraph): Promise<Outcomes> {
  const { options } = context;
  const outcomes: Outcomes = new Map();
  const waitingOn = new Map<Job, number>();
  const dependents = new Map<PartitionKey, Job[]>();
  const followers = new Map<Job, Job>();
  const finishedJobs = new Set<Job>();
  const ready: Job[] = [];
  const runningPerProcessor = new Map<string, number>();
  let running = 0;
  // A table that does not exist yet is created by its first batch: two batches creating it at once
  // would conflict (a transient error, a retry, a wasted job), so one runs alone until it has built.
  const creating = new Set(graph.jobs.map((job) => job.processor.name).filter((name) => options.snapshot.tables.get(name)?.exists !== true));
  let wake = () => {};
  const capOf = (job: Job) => (creating.has(job.processor.name) ? 1 : job.processor.concurrency);

  for (const job of graph.jobs) {
    let count = job.inputs.size;
    for (const key of job.inputs) {
      const list = dependents.get(key);
      if (list) list.push(job);
      else dependents.set(key, [job]);
    }
    if (job.after) {
      count += 1;
      followers.set(job.after, job);
    }
    waitingOn.set(job, count);
    if (count === 0) ready.push(job);
  }

  // A job can become ready while another is still running (a batch retried day by day settles its
  // days one at a time): start it then, not when that job ends. One wake per turn of the event loop.
  let wakePending = false;
  const wakeSoon = () => {
    if (wakePending) return;
    wakePending = true;
    setImmediate(() => {
      wakePending = false;
      wake();
    });
  };
  const release = (job: Job) => {
    const left = (waitingOn.get(job) ?? 0) - 1;
    waitingOn.set(job, left);
    if (left === 0) {
      insertReady(ready, job);
      wakeSoon();
    }
  };
  const settle = (processor: string, day: Day, outcome: PartitionOutcome) => {
    const key = partitionKey(processor, day);
    if (outcomes.has(key)) return;
    outcomes.set(key, outcome);
    if (outcome.state !== 'built')
      options.onEvent({ kind: 'partition-failed', processor, day, category: outcome.category, message: outcome.message });
    for (const job of dependents.get(key) ?? []) release(job);
  };
  const settleBuilt = (processor: string, answer: BatchAnswer) => {
    if (answer.entries.size > 0 && creating.delete(processor)) wakeSoon();
    for (const [day, entry] of answer.entries) {
      recordBuilt(context.live, processor, day, entry);
      settle(processor, day, { state: 'built', rows: entry.rows, builtAt: entry.builtAt });
    }
  };
  /**
   * Reports a finished batch and settles its days: built, failed, or NO_OUTPUT when the warehouse
   * reported neither. A multi-day batch that failed as a whole is instead retried one day at a time
   * (its failed days are settled by those single-day batches), so one bad day does not sink the rest.
   */
  const finishBatch = async (job: Job, days: readonly Day[], answer: BatchAnswer, report: { failure: JobFailure | undefined; elapsedMs: number }) => {
    const name = job.processor.name;
    options.onEvent({ kind: 'job-finished', processor: name, start: days[0] ?? 0, end: days[days.length - 1] ?? 0, built: [...answer.entries.keys()], ...report });
    settleBuilt(name, answer);
    if (answer.failure && days.length > 1 && worthSplitting(answer.failure) && !options.signal.aborted) {
      options.onEvent({ kind: 'job-split', processor: name, start: days[0] ?? 0, end: days[days.length - 1] ?? 0, failure: answer.failure });
      for (const day of days) {
        const single = await runBatch(context, job.processor, [day]);
        await finishBatch(job, [day], single, { failure: single.failure ?? single.failed.get(day), elapsedMs: 0 });
      }
      return;
    }
    for (const [day, failure] of answer.failed) settle(name, day, { state: 'failed', ...failure });
    // A job that reported neither rows nor a failure for a day built nothing there: say so.
    for (const day of days)
      if (!outcomes.has(partitionKey(name, day)))
        settle(name, day, { state: 'failed', category: 'NO_OUTPUT', message: 'the warehouse reported no outcome for this partition' });
  };
  const finishJob = (job: Job) => {
    finishedJobs.add(job);
    const follower = followers.get(job);
    if (follower) release(follower);
  };

  const execute = async (job: Job): Promise<void> => {
    const name = job.processor.name;
    const runnable = new Set<Day>();
    for (const day of job.days) {
      const broken = (job.inputsByDay.get(day) ?? []).find((key) => outcomes.get(key)?.state !== 'built');
      if (broken === undefined) {
        runnable.add(day);
        continue;
      }
      const failure = upstreamFailure(broken, outcomes);
      if (failure.category === 'UPSTREAM_FAILED') await recordFailure(context, job.processor, day, failure);
      settle(name, day, { state: 'failed', ...failure });
    }
    for (const days of contiguousRuns(job.days, runnable)) {
      const started = options.clock.wall();
      const answer = await runBatch(context, job.processor, days);
      await finishBatch(job, days, answer, { failure: answer.failure, elapsedMs: options.clock.wall() - started });
    }
  };

  return new Promise((resolve, reject) => {
    const pump = () => {
      while (running < options.concurrency && !options.signal.aborted) {
        const index = ready.findIndex((job) => (runningPerProcessor.get(job.processor.name) ?? 0) < capOf(job));
        if (index < 0) break;
        const [job] = ready.splice(index, 1);
        if (!job) break;
        running += 1;
        runningPerProcessor.set(job.processor.name, (runningPerProcessor.get(job.processor.name) ?? 0) + 1);
        execute(job).then(() => {
          running -= 1;
          runningPerProcessor.set(job.processor.name, (runningPerProcessor.get(job.processor.name) ?? 1) - 1);
          finishJob(job);
          pump();
        }, reject);
      }
      if (running > 0) return;
      if (ready.length > 0 && !options.signal.aborted) return;
      // Nothing runs and nothing can start: whatever is left was cancelled before it started.
      for (const job of graph.jobs) {
        if (finishedJobs.has(job)) continue;
        for (const day of job.days)
          settle(job.processor.name, day, { state: 'failed', category: 'CANCELLED', message: 'not started: the run was cancelled' });
      }
      resolve(outcomes);
    };
    wake = pump;
    options.signal.addEventListener('abort', () => setImmediate(pump), { once: true });
    pump();
  });
}

/** Ready jobs start in plan order (topological rank, then date), so upstream work is never starved. */
function insertReady(ready: Job[], job: Job): void {
  let at = ready.length;
  while (at > 0 && (ready[at - 1]?.index ?? 0) > job.index) at -= 1;
  ready.splice(at, 0, job);
}

/** The UPSTREAM_FAILED failure of a partition that reads `broken`, naming the root failure. */
function upstreamFailure(broken: PartitionKey, outcomes: Outcomes): JobFailure {
  const outcome = outcomes.get(broken);
  const [processor, day] = broken.split('\u0000');
  const where = `${processor} ${formatDay(Number(day))}`;
  if (outcome?.state !== 'failed') return { category: 'UPSTREAM_FAILED', message: `reads ${where}, which was not built` };
  if (outcome.category === 'CANCELLED') return { category: 'CANCELLED', message: `not started: it reads ${where}, which was cancelled` };
  if (outcome.category === 'UPSTREAM_FAILED') return { category: 'UPSTREAM_FAILED', message: `reads ${where}, which ${outcome.message}` };
  return { category: 'UPSTREAM_FAILED', message: `reads ${where}, which failed (${outcome.category})` };
}
