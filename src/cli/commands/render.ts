/**
 * `dag render PROCESSOR --range A..B [--all] [--target T] [--json]`: what `dag run` would execute for
 * each batch of PROCESSOR (dbt's compile): the SELECT as the target's adapter renders it (typed date
 * literals, ref() resolved to qualified tables), or for a command the argv after substitution and the
 * DAG_* variables. One block per batch of the plan; `--all` renders every expected partition's batch,
 * fresh ones too. Plans PROCESSOR with its upstream processors, as a whole-pipeline run would.
 */
import type { Command } from 'commander';
import { dirname } from 'node:path';
import { makeCalendar } from '../../core/calendar.js';
import { formatDay } from '../../core/dates.js';
import type { Pipeline, Processor, Target } from '../../core/model.js';
import { readsItself } from '../../core/model.js';
import type { Batch, ProcessorPlan } from '../../core/plan.js';
import { makeBatches } from '../../core/planner.js';
import { dagVariables, substituteArgv } from '../../runner/spawn.js';
import type { BatchJob } from '../../warehouse/port.js';
import { renderBatchSql } from '../../warehouse/render.js';
import { verbHelp } from '../help.js';
import type { CliIO } from '../io.js';
import { loadPipelineAndTarget, openTarget, printWarnings, readAndPlan, withSelection } from '../prepare.js';
import { processorNamed } from '../processor-arg.js';
import { parseRange, RANGE_HELP } from '../range.js';
import { invocationToday } from '../today.js';

interface RenderFlags {
  readonly range: string;
  readonly all?: boolean;
  readonly target?: string;
  readonly pipeline?: string;
  readonly json?: boolean;
}

/** What one batch would run. */
export type RenderedBatch =
  | { readonly start: string; readonly end: string; readonly sql: string }
  | { readonly start: string; readonly end: string; readonly argv: readonly string[]; readonly env: Readonly<Record<string, string>>; readonly cwd: string };

/** Stands in for the run id a real run draws (DAG_RUN_ID); nothing rendered for SQL depends on it. */
const RUN_ID = '<run id>';

function jobFor(pipeline: Pipeline, processor: Processor, batch: Batch, codeFingerprint: string): BatchJob {
  return { pipeline, processor, batch, runId: RUN_ID, builtAt: 0, codeFingerprint };
}

export async function renderBatch(pipeline: Pipeline, target: Target, processor: Processor, batch: Batch, codeFingerprint: string): Promise<RenderedBatch> {
  const job = jobFor(pipeline, processor, batch, codeFingerprint);
  const [start, end] = [formatDay(batch.start), formatDay(batch.end)];
  const { action } = processor;
  if (action.kind === 'sql') return { start, end, sql: await renderBatchSql(target, job) };
  return { start, end, argv: substituteArgv(action.argv, start, end, target.name), env: dagVariables(job, target.name), cwd: dirname(pipeline.file) };
}

/** `--all`: every expected partition in the range, cut into batches as a run would cut them. */
function allBatches(processor: Processor, planned: ProcessorPlan, calendarDays: readonly number[] | undefined): Batch[] {
  const calendar = makeCalendar(calendarDays);
  return makeBatches(
    planned.expected.map((day) => calendar.position(day)),
    readsItself(processor) ? 1 : processor.batchSize,
    calendar,
  );
}

/** A shell word: bare when safe, else single-quoted. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function blockText(rendered: RenderedBatch, partitions: number): string {
  const head = `-- batch ${rendered.start}..${rendered.end} (${partitions} partition${partitions === 1 ? '' : 's'})`;
  if ('sql' in rendered) return `${head}\n${rendered.sql};\n`;
  const env = Object.entries(rendered.env).map(([name, value]) => `${name}=${shellWord(value)}`);
  return `${head}\ncd ${shellWord(rendered.cwd)} && ${env.join(' ')} \\\n  ${rendered.argv.map(shellWord).join(' ')}\n`;
}

export function registerRender(program: Command, io: CliIO): void {
  const command = program
    .command('render')
    .description(
      "print what run would execute for each batch of a processor: the SQL (dates as typed literals, ref() resolved) or a command's argv and DAG_* environment",
    )
    .argument('<PROCESSOR>', 'processor name')
    .requiredOption('--range <A..B>', RANGE_HELP)
    .option('--all', "every expected partition's batch, fresh ones too (default: only the batches the plan would build)")
    .option('--target <T>', 'target from pipeline.yaml (default_target otherwise)')
    .option('--pipeline <FILE>', 'pipeline file (found from the working directory up otherwise)')
    .option('--json', 'print { processor, batches: [{ start, end, sql } | { start, end, argv, env, cwd }] }');
  verbHelp(command, {
    examples: ['dag render PCF --range 2021-11-01..2021-11-30', 'dag render PCF --range 2021-11-03 --all > pcf.sql', 'dag render MLFS --range yesterday --all'],
    exitCodes: [
      [0, 'printed (also when nothing would be built)'],
      [2, 'usage error, an unknown processor, or the pipeline or warehouse cannot be read'],
    ],
  });
  command.action(async (name: string, flags: RenderFlags) => {
    io.doing = 'render';
    const loadedPipeline = await loadPipelineAndTarget(io, flags, true);
    const { pipeline } = loadedPipeline;
    const processor = processorNamed(pipeline, name, 'render');
    const range = parseRange(flags.range, () => invocationToday(io, pipeline.timeZone));
    const loaded = withSelection(loadedPipeline, `+${name}`);
    printWarnings(io, loaded.warnings);
    const target = pipeline.targets.get(loaded.targetName) as Target;
    const warehouse = await openTarget(io, loaded, true);
    let planned;
    try {
      planned = await readAndPlan(io, loaded, warehouse, range);
    } finally {
      await warehouse.close();
    }
    const processorPlan = planned.plan.processors.find((p) => p.name === name) as ProcessorPlan;
    const batches = flags.all ? allBatches(processor, processorPlan, planned.snapshot.calendar) : processorPlan.batches;
    io.doing = 'rendering';
    const rendered: RenderedBatch[] = [];
    for (const batch of batches) rendered.push(await renderBatch(pipeline, target, processor, batch, processorPlan.codeFingerprint));
    if (flags.json) {
      io.stdout(
        `${JSON.stringify({ processor: name, target: loaded.targetName, range: { start: formatDay(range.start), end: formatDay(range.end) }, batches: rendered }, null, 2)}\n`,
      );
      return;
    }
    const { counts } = processorPlan;
    const what = flags.all ? `all ${counts.expected} expected partitions` : `${counts.build} partition(s) to build`;
    const lines = [
      `-- dag render ${name} · target ${loaded.targetName} · ${formatDay(range.start)}..${formatDay(range.end)}: ${batches.length} batch(es), ${what}`,
    ];
    if (!flags.all && counts.blocked > 0)
      lines.push(
        `-- ${counts.blocked} blocked partition(s) are not rendered: dag plan --range ${formatDay(range.start)}..${formatDay(range.end)} --select ${name} says why`,
      );
    if (processor.action.kind === 'command') lines.push("-- the target's connection settings are added at run time (docs/running.md, command processors)");
    if (batches.length === 0)
      lines.push(flags.all ? '-- no partition is expected in the range' : "-- nothing to build; --all renders every expected partition's batch");
    io.stdout(`${lines.join('\n')}\n${rendered.map((r, i) => `\n${blockText(r, batches[i]!.days.length)}`).join('')}`);
  });
}
