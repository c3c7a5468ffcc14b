/**
 * `dag explain PROCESSOR DATE [--target T] [--json]`: why one partition is fresh, missing, stale or
 * blocked, walked down to root causes. Plans PROCESSOR with its upstream processors over the range
 * (calendar's first day, or the processor's start) .. DATE, so every link of the chain is judged.
 */
import type { Command } from 'commander';
import { makeCalendar } from '../../core/calendar.js';
import { parseIsoDate, formatDay, type Day } from '../../core/dates.js';
import { UserError } from '../../core/diagnostics.js';
import { explainPartition, rootChain, type Explanation, type LastFailure } from '../../core/explain.js';
import { inputsOf } from '../../core/inputs.js';
import type { Warehouse } from '../../warehouse/port.js';
import { logCovering, logRootOf, runLogs } from '../run-logs.js';
import { messageLine } from '../../report/runs.js';
import { partitionToJson } from '../../core/plan-json.js';
import type { Pipeline, Processor } from '../../core/model.js';
import type { Snapshot } from '../../core/snapshot.js';
import { verbHelp } from '../help.js';
import { checkFailureLines, checkFailureNotes, checkFailuresJson, type CheckFailureNote } from '../../report/check-notes.js';
import type { CliIO } from '../io.js';
import { processorNamed } from '../processor-arg.js';
import { loadPipelineAndTarget, openTarget, printWarnings, readAndPlan, withSelection } from '../prepare.js';

interface ExplainFlags {
  readonly target?: string;
  readonly pipeline?: string;
  readonly json?: boolean;
}

/** The earliest day anything the plan reads has, so the whole history is judged (every-day calendar). */
function earliestKnownDay(snapshot: Snapshot, day: Day): Day {
  let earliest = day;
  for (const table of snapshot.tables.values()) for (const d of table.partitions.keys()) if (d < earliest) earliest = d;
  for (const ledger of snapshot.ledger.values()) for (const d of ledger.keys()) if (d < earliest) earliest = d;
  return earliest;
}

function checkDay(processor: Processor, pipeline: Pipeline, snapshot: Snapshot, day: Day): void {
  const calendar = makeCalendar(snapshot.calendar);
  if (!calendar.contains(day)) {
    const p = calendar.lowerBound(day);
    const near = [calendar.dayAt(p - 1), calendar.dayAt(p)].filter((d): d is Day => d !== undefined).map(formatDay);
    throw new UserError(
      `${formatDay(day)} is not a partition of the calendar '${pipeline.calendar}'`,
      2,
      near.length > 0 ? `nearest calendar days: ${near.join(', ')}` : `the calendar table '${pipeline.calendar}' has no dates yet`,
    );
  }
  if (processor.start !== undefined && day < processor.start) {
    throw new UserError(`${processor.name} has no partition on ${formatDay(day)}: its start is ${formatDay(processor.start)}`, 2);
  }
}

function renderTree(e: Explanation, depth: number, out: string[]): void {
  const indent = '  '.repeat(depth);
  out.push(`${indent}${depth > 0 ? '- ' : ''}${e.subject.includes(' ') ? `${e.subject} ` : ''}${e.text}`);
  for (const cause of e.causes) renderTree(cause, depth + 1, out);
}

/**
 * The notes about the partition and every partition it reads, transitively (its upstream processors'
 * partitions through their mappings): a check that failed anywhere below is the root cause to show.
 */
function inChain(notes: readonly CheckFailureNote[], pipeline: Pipeline, snapshot: Snapshot, processor: string, day: Day): CheckFailureNote[] {
  if (notes.length === 0) return [];
  const calendar = makeCalendar(snapshot.calendar);
  const seen = new Set<string>();
  const stack: [string, Day][] = [[processor, day]];
  while (stack.length > 0) {
    const [name, d] = stack.pop() as [string, Day];
    const key = `${name} ${d}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const node = pipeline.nodes.get(name);
    if (node?.kind !== 'processor' || !calendar.contains(d)) continue;
    for (const upstream of node.upstream) for (const input of inputsOf(upstream, d, calendar)) stack.push([upstream.name, input]);
  }
  return notes.filter((n) => seen.has(`${n.processor} ${n.day}`));
}

function toJson(e: Explanation): Record<string, unknown> {
  return {
    subject: e.subject,
    text: e.text,
    ...(e.partition ? { partition: partitionToJson(e.partition) } : {}),
    causes: e.causes.map(toJson),
  };
}

/** The partition's latest failure when no build holds over it since, with its command log if it is here. */
async function lastFailureOf(io: CliIO, warehouse: Warehouse, pipeline: Pipeline, processor: string, day: Day): Promise<LastFailure | undefined> {
  io.doing = 'reading the last failure';
  const [latest] = (await warehouse.readFailures({ processor, day, limit: 1 })).failures;
  if (!latest || latest.builtSince) return undefined;
  const log = logCovering(runLogs(logRootOf(pipeline), latest.runId, io.cwd), processor, day);
  return {
    runId: latest.runId,
    category: latest.category,
    message: latest.message,
    line: messageLine(processor, latest.message),
    at: latest.at,
    ...(log ? { log: log.path } : {}),
  };
}

export function registerExplain(program: Command, io: CliIO): void {
  const command = program
    .command('explain')
    .description('explain why one partition is fresh, missing, stale or blocked, down to the root cause')
    .argument('<PROCESSOR>', 'processor name')
    .argument('<DATE>', 'partition date, YYYY-MM-DD')
    .option('--target <T>', 'target from pipeline.yaml (default_target otherwise)')
    .option('--pipeline <FILE>', 'pipeline file (found from the working directory up otherwise)')
    .option('--json', 'print the explanation as JSON (its shape: docs/partition-states.md)');
  verbHelp(command, {
    examples: ['dag explain PDC 2021-11-10', 'dag explain MLFS 2021-10-28 --json', 'dag explain PCF 2021-11-03 --target prod'],
    exitCodes: [
      [0, "explained (whatever the partition's status)"],
      [2, 'usage error, an unknown processor, a date that is not a partition, or the pipeline or warehouse cannot be read'],
    ],
  });
  command.action(async (name: string, date: string, flags: ExplainFlags) => {
    io.doing = 'explain';
    const day = parseIsoDate(date);
    if (day === undefined) {
      const shaped = /^\d{4}-\d{2}-\d{2}$/.test(date);
      throw new UserError(shaped ? `${date} is not a valid date` : `cannot read '${date}' as a date`, 2, 'write DATE as YYYY-MM-DD, e.g. 2021-11-03');
    }
    const loadedPipeline = await loadPipelineAndTarget(io, flags, true);
    const processor = processorNamed(loadedPipeline.pipeline, name, 'explain');
    const loaded = withSelection(loadedPipeline, `+${name}`);
    printWarnings(io, loaded.warnings);
    const warehouse = await openTarget(io, loaded, true);
    let result;
    let lastFailure: LastFailure | undefined;
    try {
      result = await readAndPlan(io, loaded, warehouse, (_, snapshot) => {
        checkDay(processor, loaded.pipeline, snapshot, day);
        // From the calendar's first day, not the processor's start: its upstream partitions before
        // that start must be judged too, or they would look OUT_OF_RANGE (widen the range) when the
        // real cause lies further down (e.g. history that can never exist).
        const start = snapshot.calendar?.[0];
        return { start: start !== undefined ? Math.min(start, day) : earliestKnownDay(snapshot, day), end: day };
      });
      // Missing or stale: was its last build a failure nothing has built over since? (One query.)
      const judged = result.plan.processors.find((p) => p.name === name)?.partitions.some((p) => p.day === day);
      if (judged) lastFailure = await lastFailureOf(io, warehouse, loaded.pipeline, name, day);
    } finally {
      await warehouse.close();
    }
    const explanation = explainPartition({
      pipeline: loaded.pipeline,
      planned: result.state,
      snapshot: result.snapshot,
      processor: name,
      day,
      ...(lastFailure ? { lastFailure } : {}),
    });
    if (flags.json) {
      const checkFailures = checkFailuresJson(inChain(checkFailureNotes(result.plan, result.snapshot), loaded.pipeline, result.snapshot, name, day));
      const failure = lastFailure
        ? {
            last_failure: {
              run_id: lastFailure.runId,
              category: lastFailure.category,
              message: lastFailure.message,
              failed_at: new Date(lastFailure.at).toISOString(),
              log: lastFailure.log ?? null,
            },
          }
        : {};
      io.stdout(
        `${JSON.stringify({ processor: name, date: formatDay(day), range: { start: formatDay(result.plan.range.start), end: formatDay(result.plan.range.end) }, ...failure, explanation: toJson(explanation), ...(checkFailures.length > 0 ? { check_failures: checkFailures } : {}) }, null, 2)}\n`,
      );
      return;
    }
    const lines = [rootChain(explanation), ''];
    renderTree(explanation, 0, lines);
    const failedChecks = inChain(checkFailureNotes(result.plan, result.snapshot), loaded.pipeline, result.snapshot, name, day);
    if (failedChecks.length > 0)
      lines.push(
        '',
        `${name} ${formatDay(day)} reads partitions whose last build failed a check (CHECK_FAILED: not committed):`,
        ...checkFailureLines(failedChecks),
      );
    lines.push(
      '',
      `(planned ${formatDay(result.plan.range.start)}..${formatDay(result.plan.range.end)} with ${name}'s upstream processors; ${result.plan.stats.queries} warehouse queries)`,
    );
    io.stdout(`${lines.join('\n')}\n`);
  });
}
