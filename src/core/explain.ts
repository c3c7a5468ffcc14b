/**
 * `dag explain P D`: the plan's verdict on one partition, walked down through `needs` and `reasons`
 * to root causes (a source gap, history that cannot exist, a changed source partition, a code change).
 * Pure: it reads the plan and the snapshot the plan was made from. Each partition is explained once;
 * a second mention says "see above", so lookback fan-out cannot blow the tree up.
 */
import type { Calendar } from './calendar.js';
import { formatDay, type Day } from './dates.js';
import { beforeStart, inputWindow, isExpected, lookbackMin } from './inputs.js';
import type { Pipeline, PipelineNode, Processor } from './model.js';
import type { PartitionPlan, Plan, ProcessorPlan, StaleReason } from './plan.js';
import { isPresent, partitionTime, unfinishedRun, type Snapshot } from './snapshot.js';

export interface Explanation {
  /** `P 2021-11-03`, or an upstream name when the line is about a group of partitions. */
  readonly subject: string;
  readonly text: string;
  readonly partition?: PartitionPlan;
  readonly causes: readonly Explanation[];
}

export interface ExplainInput {
  readonly pipeline: Pipeline;
  readonly plan: Plan;
  readonly snapshot: Snapshot;
  readonly calendar: Calendar;
  readonly processor: string;
  readonly day: Day;
}

const MAX_CAUSES = 8;

export function formatTime(ms: number | undefined): string {
  if (ms === undefined || Number.isNaN(ms)) return 'at an unknown time';
  if (ms === Infinity) return 'since dag last recorded it';
  return `at ${new Date(ms).toISOString().replace('.000Z', 'Z')}`;
}

export function explainPartition(input: ExplainInput): Explanation {
  const { pipeline, plan, snapshot, calendar } = input;
  const byName = new Map<string, ProcessorPlan>(plan.processors.map((p) => [p.name, p]));
  const seen = new Set<string>();
  const inRange = (d: Day): boolean => d >= plan.range.start && d <= plan.range.end;
  const ledgerOf = (name: string, d: Day) => snapshot.ledger.get(name)?.get(d);
  const infoOf = (name: string, d: Day) => snapshot.tables.get(name)?.partitions.get(d);
  const present = (name: string, d: Day): boolean => isPresent(infoOf(name, d), ledgerOf(name, d));
  const timeOf = (name: string, d: Day): number | undefined => partitionTime(infoOf(name, d), ledgerOf(name, d));
  const label = (name: string, d: Day): string => `${name} ${formatDay(d)}`;

  const partitionIndex = new Map<string, Map<Day, PartitionPlan>>();
  const judgedPartition = (p: ProcessorPlan, d: Day): PartitionPlan | undefined => {
    let index = partitionIndex.get(p.name);
    if (!index) partitionIndex.set(p.name, (index = new Map(p.partitions.map((x) => [x.day, x]))));
    return index.get(d);
  };
  /** The plan of `node` when the plan judged its partition `d`; undefined when `d` was taken as it is. */
  const judgedPlanOf = (node: PipelineNode, d: Day): ProcessorPlan | undefined =>
    node.kind === 'processor' && inRange(d) && isExpected(node, d, calendar) ? byName.get(node.name) : undefined;
  /** As the planner sees an upstream partition: fresh, built in this plan, or present and not judged. */
  const usable = (node: PipelineNode, d: Day): boolean => {
    const judged = judgedPlanOf(node, d);
    if (judged) return judgedPartition(judged, d)?.action !== 'blocked';
    return !beforeStart(node, d) && present(node.name, d);
  };

  const batchOf = (p: ProcessorPlan, d: Day): string => {
    const batch = p.batches.find((b) => b.days.includes(d));
    return batch ? ` in batch ${formatDay(batch.start)}..${formatDay(batch.end)}` : '';
  };

  const explainUpstreamPartition = (node: PipelineNode, d: Day): Explanation => {
    const judged = judgedPlanOf(node, d);
    if (judged && node.kind === 'processor') return explain(node, judged, d);
    const subject = label(node.name, d);
    if (beforeStart(node, d)) return { subject, text: `can never exist: before ${node.name}'s start ${formatDay((node as Processor).start as Day)} (INSUFFICIENT_HISTORY)`, causes: [] };
    if (present(node.name, d)) return { subject, text: `is present (changed ${formatTime(timeOf(node.name, d))})`, causes: [] };
    if (!inRange(d)) return { subject, text: 'is absent and outside the range (OUT_OF_RANGE): widen the range to build it', causes: [] };
    if (node.kind === 'source') return { subject, text: 'is absent: a gap in the source (MISSING_DEPENDENCIES)', causes: [] };
    return { subject, text: 'is absent and not selected for building (MISSING_DEPENDENCIES)', causes: [] };
  };

  const needCauses = (processor: Processor, d: Day, partition: PartitionPlan): Explanation[] => {
    const causes: Explanation[] = [];
    const position = calendar.position(d);
    for (const upstream of processor.upstream) {
      const node = pipeline.nodes.get(upstream.name) as PipelineNode;
      const need = partition.needs?.find((n) => n.upstream === upstream.name);
      const window = inputWindow(upstream.mapping, position, d, calendar);
      // Reading itself, partitions that can never exist are where its series begins (the planner
      // leaves them out, and caps `min` at what can exist): not worth a word.
      const selfRead = upstream.name === processor.name;
      const noPartition = selfRead ? 0 : window.noPartition;
      let possible = 0;
      let usableCount = 0;
      for (let q = window.first; q <= window.last; q++) {
        const e = calendar.dayAt(q) as Day;
        if (selfRead && beforeStart(node, e)) continue;
        possible++;
        if (usable(node, e)) usableCount++;
      }
      const size = possible + noPartition;
      const min = lookbackMin(upstream.mapping.kind === 'lookback' ? upstream.mapping.min : undefined, selfRead, possible);
      const lacking = need?.days ?? [];
      // Nothing dated lacking: worth a line only when history is short (before the calendar, or below min).
      if (lacking.length === 0 && (min !== undefined ? usableCount >= min : noPartition === 0)) continue;
      const parts: string[] = [];
      if (min !== undefined) parts.push(`has ${usableCount} of the ${size} ${upstream.name} partitions it reads (min ${min})`);
      else parts.push(`lacks ${lacking.length + noPartition} of the ${size} ${upstream.name} partition${size === 1 ? '' : 's'} it reads`);
      const m = upstream.mapping;
      if (m.kind === 'lookback' && m.unit === 'days' && min !== undefined && size < min) {
        const from = formatDay(d - m.window);
        const to = formatDay(m.excludeCurrent ? d - 1 : d);
        parts.push(`the calendar has only ${size} partition${size === 1 ? '' : 's'} in ${from}..${to} (INSUFFICIENT_HISTORY)`);
      }
      const offDay = m.kind === 'offset' && m.unit === 'days' ? d + m.offset : undefined;
      if (noPartition > 0 && offDay !== undefined && calendar.first !== undefined && offDay >= calendar.first) {
        // An offset in days names one date; on a game-day calendar that date may simply not be a game day.
        parts.push(`${formatDay(offDay)} is not a calendar day (INSUFFICIENT_HISTORY)`);
      } else if (noPartition > 0) {
        parts.push(`${noPartition} would lie before the calendar's first partition${calendar.first !== undefined ? ` ${formatDay(calendar.first)}` : ''} (INSUFFICIENT_HISTORY)`);
      }
      const children = lacking.slice(0, MAX_CAUSES).map((e) => explainUpstreamPartition(node, e));
      if (lacking.length > MAX_CAUSES) children.push({ subject: upstream.name, text: `... and ${lacking.length - MAX_CAUSES} more`, causes: [] });
      // A single partition read (same, offset) needs no group line: its own explanation says it all.
      if (size === 1 && min === undefined && children.length === 1) causes.push(...children);
      else causes.push({ subject: upstream.name, text: parts.join('; '), causes: children });
    }
    return causes;
  };

  const reasonCauses = (processor: Processor, d: Day, reasons: readonly StaleReason[]): Explanation[] => {
    const builtAt = timeOf(processor.name, d);
    return reasons.map((r): Explanation => {
      if (r.kind === 'code_changed') {
        const run = unfinishedRun(r.was);
        const text = run !== undefined ? `its command did not finish in run ${run} (failed, timed out or killed): what it wrote is not trusted, so it is rebuilt` : `its code changed (SQL, command or mapping): fingerprint ${r.was} then, ${r.now} now`;
        return { subject: processor.name, text, causes: [] };
      }
      const node = pipeline.nodes.get(r.upstream) as PipelineNode;
      const shown = r.days.slice(0, MAX_CAUSES);
      const children =
        r.kind === 'upstream_changed' || r.kind === 'external_older_than_upstream'
          ? shown.map((e) => ({ subject: label(r.upstream, e), text: `changed ${formatTime(timeOf(r.upstream, e))}, after ${label(processor.name, d)} was ${r.kind === 'upstream_changed' ? 'built' : 'last modified'} ${formatTime(builtAt)}`, causes: [] }))
          : shown.map((e) => explainUpstreamPartition(node, e));
      const what = { upstream_changed: 'changed since it was built', upstream_rebuilt: 'will be rebuilt first', upstream_stale: 'is stale and cannot be rebuilt', external_older_than_upstream: 'changed after it (it was built outside dag)' }[r.kind];
      return { subject: r.upstream, text: `${r.kind}: ${r.upstream} ${what}${r.days.length > MAX_CAUSES ? ` (${r.days.length} partitions, first ${MAX_CAUSES} shown)` : ''}`, causes: children };
    });
  };

  function explain(processor: Processor, judged: ProcessorPlan, d: Day): Explanation {
    const subject = label(processor.name, d);
    const key = `${processor.name}\u0000${d}`;
    const partition = judgedPartition(judged, d);
    if (seen.has(key)) return { subject, text: `is ${partition ? `${partition.status} (${partition.action})` : 'fresh'}: see above`, causes: [] };
    seen.add(key);
    if (!partition) {
      const entry = ledgerOf(processor.name, d);
      const text = entry
        ? `is fresh: built ${formatTime(entry.builtAt)} (run ${entry.runId}, ${entry.rows} rows); nothing it reads changed since and its code is the same`
        : `is fresh: present with no ledger entry (built outside dag); none of its inputs is known to be newer`;
      return { subject, text, causes: [] };
    }
    const reasons = reasonCauses(processor, d, partition.reasons ?? []);
    if (partition.action === 'build') {
      const text = partition.status === 'missing' ? `is missing and will be built${batchOf(judged, d)}` : `is stale and will be rebuilt${batchOf(judged, d)}`;
      return { subject, text, partition, causes: reasons };
    }
    const text = `is ${partition.status} and blocked: ${partition.category}`;
    return { subject, text, partition, causes: [...needCauses(processor, d, partition), ...reasons] };
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
