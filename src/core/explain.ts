/**
 * `dag explain P D`: the plan's verdict on one partition, walked down through `needs` and `reasons`
 * to root causes (a source gap, history that cannot exist, a changed source partition, a code change).
 * Pure: it reads the plan and the snapshot the plan was made from. Each partition is explained once;
 * a second mention says "see above", so lookback fan-out cannot blow the tree up.
 */
import { formatDay, type Day } from './dates.js';
import type { Pipeline, PipelineNode, Processor } from './model.js';
import type { PartitionPlan, ProcessorPlan, StaleReason, UpstreamReasonKind } from './plan.js';
import { judgeInputs, readersOf, type Scratch } from './planner-judge.js';
import { InputClass, OWN_LEDGER, OWN_PRESENT, type NodeState } from './planner-state.js';
import type { PlannedWithState } from './planner.js';
import { partitionTime, unfinishedRun, type Snapshot } from './snapshot.js';

export interface Explanation {
  /** `P 2021-11-03`, or an upstream name when the line is about a group of partitions. */
  readonly subject: string;
  readonly text: string;
  readonly partition?: PartitionPlan;
  readonly causes: readonly Explanation[];
}

/** The partition's last failed build, when nothing has built it since (from `_dag.failures`). */
export interface LastFailure {
  readonly runId: string;
  readonly category: string;
  readonly message: string;
  /** The message's first line as explain prints it (without the `P 2021-11-05: ` it may start with). */
  readonly line: string;
  readonly at: number;
  /** The command batch's log file, when it is on this machine. */
  readonly log?: string;
}

export interface ExplainInput {
  readonly pipeline: Pipeline;
  /** The explained partition's last failure, if its last build failed. */
  readonly lastFailure?: LastFailure;
  /** The plan and the planner's state it was decided from: explain re-reads the planner's judgement. */
  readonly planned: PlannedWithState;
  readonly snapshot: Snapshot;
  readonly processor: string;
  readonly day: Day;
}

const MAX_CAUSES = 8;

export function formatTime(ms: number | undefined): string {
  if (ms === undefined || Number.isNaN(ms)) return 'at an unknown time';
  if (ms === Infinity) return 'since dag last recorded it';
  return `at ${new Date(ms).toISOString().replace('.000Z', 'Z')}`;
}

const REASON_TEXT: Record<UpstreamReasonKind, string> = {
  upstream_changed: 'changed since it was built',
  upstream_rebuilt: 'will be rebuilt first',
  upstream_stale: 'is stale and cannot be rebuilt',
  upstream_missing: 'is gone and will not be built: it was built from data that no longer exists',
  external_older_than_upstream: 'changed after it (it was built outside dag)',
};

/**
 * Nothing here re-derives a rule of DESIGN §3: a partition's verdict is the plan's, the reads behind
 * a blocked one come from the planner's own judgeInputs on the planner's final state, and an upstream
 * partition that was not judged is described by the class the planner gave it.
 */
export function explainPartition(input: ExplainInput): Explanation {
  const { pipeline, snapshot } = input;
  const { plan, calendar, frame, states } = input.planned;
  const byName = new Map<string, ProcessorPlan>(plan.processors.map((p) => [p.name, p]));
  const seen = new Set<string>();
  const ledgerOf = (name: string, d: Day) => snapshot.ledger.get(name)?.get(d);
  const infoOf = (name: string, d: Day) => snapshot.tables.get(name)?.partitions.get(d);
  const timeOf = (name: string, d: Day): number | undefined => partitionTime(infoOf(name, d), ledgerOf(name, d));
  const label = (name: string, d: Day): string => `${name} ${formatDay(d)}`;
  const frameIndex = (d: Day): number => {
    const position = calendar.position(d);
    return position < frame.lo || position > frame.hi ? -1 : position - frame.lo;
  };
  /** The planner's class of a partition (see InputClass); undefined when it lies outside what the plan read. */
  const classOf = (name: string, d: Day): number | undefined => {
    const i = frameIndex(d);
    return i < 0 ? undefined : states.get(name)?.cls[i];
  };

  const partitionIndex = new Map<string, Map<Day, PartitionPlan>>();
  const judgedPartition = (p: ProcessorPlan, d: Day): PartitionPlan | undefined => {
    let index = partitionIndex.get(p.name);
    if (!index) partitionIndex.set(p.name, (index = new Map(p.partitions.map((x) => [x.day, x]))));
    return index.get(d);
  };
  /** The plan of `node` when the plan judged its partition `d`; undefined when `d` was taken as it is. */
  const judgedPlanOf = (node: PipelineNode, d: Day): ProcessorPlan | undefined => {
    const judged = node.kind === 'processor' ? byName.get(node.name) : undefined;
    const first = judged?.expected[0];
    return judged && first !== undefined && d >= first && d <= plan.range.end && calendar.contains(d) ? judged : undefined;
  };

  const batchOf = (p: ProcessorPlan, d: Day): string => {
    const batch = p.batches.find((b) => b.days.includes(d));
    return batch ? ` in batch ${formatDay(batch.start)}..${formatDay(batch.end)}` : '';
  };

  const expiredText = (node: PipelineNode): string => {
    const days = node.retentionDays ?? snapshot.tables.get(node.name)?.expirationDays;
    const why = node.retentionDays !== undefined ? `${node.name}'s retention` : `the table's partition expiration`;
    return `is expired: older than ${why} (${days ?? '?'} days), so it is gone by design and cannot come back (INSUFFICIENT_HISTORY)`;
  };

  const explainUpstreamPartition = (node: PipelineNode, d: Day): Explanation => {
    const judged = judgedPlanOf(node, d);
    if (judged && node.kind === 'processor') return explain(node, judged, d);
    const subject = label(node.name, d);
    switch (classOf(node.name, d)) {
      case InputClass.Never:
        return {
          subject,
          text: `can never exist: before ${node.name}'s start ${formatDay((node as Processor).start as Day)} (INSUFFICIENT_HISTORY)`,
          causes: [],
        };
      case InputClass.Expired:
        return { subject, text: expiredText(node), causes: [] };
      case InputClass.LackOutOfRange:
        return { subject, text: 'is absent and outside the range (OUT_OF_RANGE): widen the range to build it', causes: [] };
      case InputClass.LackMissing:
        return {
          subject,
          text:
            node.kind === 'source' ? 'is absent: a gap in the source (MISSING_DEPENDENCIES)' : 'is absent and not selected for building (MISSING_DEPENDENCIES)',
          causes: [],
        };
      default:
        return { subject, text: `is present (changed ${formatTime(timeOf(node.name, d))})`, causes: [] };
    }
  };

  /** The planner's judgement of what partition `d` reads, upstream by upstream. */
  const judgeReads = (processor: Processor, d: Day) => {
    const position = calendar.position(d);
    const own = states.get(processor.name) as NodeState;
    const i = position - frame.lo;
    const flags = own.own[i] as number;
    const facts = { threshold: own.time[i] as number, hasLedger: (flags & OWN_LEDGER) !== 0, present: (flags & OWN_PRESENT) !== 0 };
    const scratch: Scratch = { first: 0, last: -1, noPartition: 0 };
    return judgeInputs(readersOf(processor, { calendar, states }), position, d, facts, { calendar, frame }, scratch, true).upstreams;
  };

  const needCauses = (processor: Processor, d: Day): Explanation[] => {
    const causes: Explanation[] = [];
    for (const u of judgeReads(processor, d)) {
      if (!u.blocks) continue;
      const node = pipeline.nodes.get(u.upstream) as PipelineNode;
      const mapping = processor.upstream.find((x) => x.name === u.upstream)?.mapping;
      const parts: string[] = [];
      if (u.min !== undefined) parts.push(`has ${u.usable} of the ${u.size} ${u.upstream} partitions it reads (min ${u.min})`);
      else parts.push(`lacks ${u.needs.length + u.noPartition} of the ${u.size} ${u.upstream} partition${u.size === 1 ? '' : 's'} it reads`);
      if (mapping?.kind === 'lookback' && mapping.unit === 'days' && u.min !== undefined && u.size < u.min) {
        const from = formatDay(d - mapping.window);
        const to = formatDay(mapping.excludeCurrent ? d - 1 : d);
        parts.push(`the calendar has only ${u.size} partition${u.size === 1 ? '' : 's'} in ${from}..${to} (INSUFFICIENT_HISTORY)`);
      }
      const offDay = mapping?.kind === 'offset' && mapping.unit === 'days' ? d + mapping.offset : undefined;
      if (u.noPartition > 0 && offDay !== undefined && calendar.first !== undefined && offDay >= calendar.first) {
        // An offset in days names one date; on a game-day calendar that date may simply not be a game day.
        parts.push(`${formatDay(offDay)} is not a calendar day (INSUFFICIENT_HISTORY)`);
      } else if (u.noPartition > 0) {
        parts.push(
          `${u.noPartition} would lie before the calendar's first partition${calendar.first !== undefined ? ` ${formatDay(calendar.first)}` : ''} (INSUFFICIENT_HISTORY)`,
        );
      }
      const children = u.needs.slice(0, MAX_CAUSES).map((e) => explainUpstreamPartition(node, e));
      if (u.needs.length > MAX_CAUSES) children.push({ subject: u.upstream, text: `... and ${u.needs.length - MAX_CAUSES} more`, causes: [] });
      // A single partition read (same, offset) needs no group line: its own explanation says it all.
      if (u.size === 1 && u.min === undefined && children.length === 1) causes.push(...children);
      else causes.push({ subject: u.upstream, text: parts.join('; '), causes: children });
    }
    return causes;
  };

  /** `blocked`: the partitions upstream_stale / upstream_missing name are the ones its needs explain already. */
  /** A rename in pipeline.yaml: the table's ledger rows recorded under other names are its history. */
  const renamed = (processor: Processor): string => {
    const former = snapshot.formerNames?.get(processor.name) ?? [];
    return former.length > 0 ? ` (its table's ledger rows were recorded as ${former.join(', ')}: renamed, the history kept by table)` : '';
  };

  const failed = input.lastFailure;
  const failureText = (f: LastFailure): string =>
    `${f.category} in run ${f.runId} ${formatTime(f.at)}: ${f.line}${f.log !== undefined && !f.line.includes(f.log) ? ` (log: ${f.log})` : ''}`;
  /** The explained partition's last failure, first among its causes (the first line of explain follows it). */
  const failureCauses = (processor: Processor, d: Day, reasons: readonly StaleReason[]): Explanation[] => {
    if (!failed || processor.name !== input.processor || d !== input.day) return [];
    // An unfinished marker of that run says the same thing: its code_changed line is replaced below.
    if (reasons.some((r) => r.kind === 'code_changed' && unfinishedRun(r.was) === failed.runId)) return [];
    return [{ subject: processor.name, text: `its last build failed: ${failureText(failed)}`, causes: [] }];
  };

  const reasonCauses = (processor: Processor, d: Day, reasons: readonly StaleReason[], blocked: boolean): Explanation[] => {
    const builtAt = timeOf(processor.name, d);
    return reasons.map((r): Explanation => {
      if (r.kind === 'code_changed') {
        const run = unfinishedRun(r.was);
        if (run !== undefined && failed && failed.runId === run && processor.name === input.processor && d === input.day)
          return {
            subject: processor.name,
            text: `its last build failed: ${failureText(failed)}; what its command wrote is not trusted, so it is rebuilt`,
            causes: [],
          };
        const text =
          run !== undefined
            ? `its command did not finish in run ${run} (failed, timed out or killed): what it wrote is not trusted, so it is rebuilt`
            : `its code changed (SQL, command, the files it runs, or mapping): fingerprint ${r.was} then, ${r.now} now${renamed(processor)}`;
        return { subject: processor.name, text, causes: [] };
      }
      if (r.kind === 'rows_changed')
        return {
          subject: processor.name,
          text: `rows_changed: the table holds ${r.now} rows for it, the ledger recorded ${r.was}: rows were deleted or added outside dag, so it is rebuilt`,
          causes: [],
        };
      if (r.kind === 'forced') return { subject: processor.name, text: 'forced: --force rebuilds it whatever its state', causes: [] };
      const node = pipeline.nodes.get(r.upstream) as PipelineNode;
      const shown = r.days.slice(0, MAX_CAUSES);
      const children =
        blocked && (r.kind === 'upstream_stale' || r.kind === 'upstream_missing')
          ? []
          : r.kind === 'upstream_changed' || r.kind === 'external_older_than_upstream'
            ? shown.map((e) => ({
                subject: label(r.upstream, e),
                text: `changed ${formatTime(timeOf(r.upstream, e))}, after ${label(processor.name, d)} was ${r.kind === 'upstream_changed' ? 'built' : 'last modified'} ${formatTime(builtAt)}`,
                causes: [],
              }))
            : shown.map((e) => explainUpstreamPartition(node, e));
      return {
        subject: r.upstream,
        text: `${r.kind}: ${r.upstream} ${REASON_TEXT[r.kind]}${r.days.length > MAX_CAUSES ? ` (${r.days.length} partitions, first ${MAX_CAUSES} shown)` : ''}`,
        causes: children,
      };
    });
  };

  function explain(processor: Processor, judged: ProcessorPlan, d: Day): Explanation {
    const subject = label(processor.name, d);
    const key = `${processor.name}\u0000${d}`;
    const partition = judgedPartition(judged, d);
    if (seen.has(key)) return { subject, text: `is ${partition ? `${partition.status} (${partition.action})` : 'fresh'}: see above`, causes: [] };
    seen.add(key);
    if (!partition) {
      const first = judged.expected[0];
      if (first === undefined || d < first) return { subject, text: expiredText(processor), causes: [] };
      const entry = ledgerOf(processor.name, d);
      const text = entry
        ? `is fresh: built ${formatTime(entry.builtAt)} (run ${entry.runId}, ${entry.rows} rows); nothing it reads changed or vanished since and its code is the same${renamed(processor)}`
        : `is fresh: present with no ledger entry (built outside dag); none of its inputs is known to be newer`;
      return { subject, text, causes: [] };
    }
    if (partition.action === 'build') {
      const reasons = [...failureCauses(processor, d, partition.reasons ?? []), ...reasonCauses(processor, d, partition.reasons ?? [], false)];
      const text = partition.status === 'missing' ? `is missing and will be built${batchOf(judged, d)}` : `is stale and will be rebuilt${batchOf(judged, d)}`;
      return { subject, text, partition, causes: reasons };
    }
    const text = `is ${partition.status} and blocked: ${partition.category}`;
    // Needs first: the root cause lies down the chain of what it lacks.
    const needs = needCauses(processor, d);
    return {
      subject,
      text,
      partition,
      causes: [...needs, ...failureCauses(processor, d, partition.reasons ?? []), ...reasonCauses(processor, d, partition.reasons ?? [], true)],
    };
  }

  const processor = pipeline.nodes.get(input.processor) as Processor;
  const judged = byName.get(input.processor);
  if (!judged) throw new Error(`explain: ${input.processor} was not planned`);
  return explain(processor, judged, input.day);
}

/** The first path from the partition to a root cause, as one sentence (the first line of `explain`). */
export function rootChain(explanation: Explanation): string {
  const parts: string[] = [];
  let node: Explanation | undefined = explanation;
  while (node) {
    parts.push(node.subject.includes(' ') ? `${node.subject} ${node.text}` : node.text);
    node = node.causes[0];
  }
  return parts.join(': ');
}
