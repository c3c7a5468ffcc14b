/**
 * `dag plan --range A..B [--select SEL]... [--target T] [--json] [--exit-code] [--grid] [--cost] [--force]`:
 * what is fresh, missing, stale or blocked, and why; exactly what `run` would build. Never writes.
 * Over a selection it also says which unselected upstream processors are not fresh where the
 * selection reads them; a calendar behind the range is a warning. Either makes `--exit-code` exit 1.
 */
import type { Command } from 'commander';
import { makeCalendar } from '../../core/calendar.js';
import { planJsonChunks } from '../../core/plan-json-stream.js';
import type { Plan } from '../../core/plan.js';
import type { Pipeline, Processor } from '../../core/model.js';
import { checkFailureNotes, checkFailuresJson, checkFailureText } from '../../report/check-notes.js';
import type { Warehouse } from '../../warehouse/port.js';
import { verbHelp } from '../help.js';
import { useColor, writeChunks, type CliIO } from '../io.js';
import { addUp, FORCE_HELP, loadAndSelect, openTarget, printWarnings, readAndPlan, SELECT_HELP } from '../prepare.js';
import { parseRange, RANGE_HELP } from '../range.js';
import { invocationToday } from '../today.js';

interface PlanFlags {
  readonly range: string;
  readonly select: readonly string[];
  readonly target?: string;
  readonly pipeline?: string;
  readonly json?: boolean;
  readonly exitCode?: boolean;
  readonly grid?: boolean;
  readonly cost?: boolean;
  readonly force?: boolean;
}

export function registerPlan(program: Command, io: CliIO): void {
  const command = program
    .command('plan')
    .description('show what is fresh, missing, stale or blocked in a date range, and why; never writes')
    .requiredOption('--range <A..B>', RANGE_HELP)
    .option('--select <SEL>', SELECT_HELP, addUp, [])
    .option('--target <T>', 'target from pipeline.yaml (default_target otherwise)')
    .option('--pipeline <FILE>', 'pipeline file (found from the working directory up otherwise)')
    .option('--json', 'print the plan as one JSON object (its shape: docs/partition-states.md)')
    .option(
      '--exit-code',
      'exit 1 when anything would be built or is blocked, an unselected upstream processor is not fresh, or the plan warns (e.g. the calendar is behind the range)',
    )
    .option('--grid', 'draw coverage as processors × dates')
    .option('--cost', 'add BigQuery dry-run bytes per processor')
    .option('--force', FORCE_HELP);
  verbHelp(command, {
    examples: ['dag plan --range 2021-11-01..2021-11-30', 'dag plan --range -7d..today --select +PCF --grid', 'dag plan --range yesterday --json --exit-code'],
    exitCodes: [
      [0, 'the plan was printed (with --exit-code: and there is nothing to build, nothing blocked, no warning)'],
      [1, 'with --exit-code: something would be built or is blocked, an unselected upstream processor is not fresh, or the plan warns'],
      [2, 'usage error, the pipeline cannot be read, or a table or the ledger cannot be read'],
    ],
  });
  command.action(async (flags: PlanFlags) => {
    io.doing = 'plan';
    const loaded = await loadAndSelect(io, flags, true);
    const range = parseRange(flags.range, () => invocationToday(io, loaded.pipeline.timeZone));
    printWarnings(io, loaded.warnings);
    const warehouse = await openTarget(io, loaded, true);
    let workToDo = false;
    try {
      const { plan, snapshot, warnings, upstreamGaps } = await readAndPlan(io, loaded, warehouse, range, { force: flags.force === true });
      workToDo = plan.summary.build + plan.summary.blocked > 0 || upstreamGaps.length > 0 || warnings.length > 0;
      io.doing = 'printing the plan';
      const checkFailures = checkFailureNotes(plan, snapshot);
      if (flags.json) {
        await writeChunks(io, planJsonChunks(plan, { unselectedUpstream: upstreamGaps, warnings, checkFailures: checkFailuresJson(checkFailures) }));
      } else {
        // Only the text plan needs its renderer and chalk (~10 ms to load): --json never loads them.
        const { planTextChunks } = await import('../../report/plan-text.js');
        await writeChunks(
          io,
          planTextChunks(plan, { color: useColor(io), calendar: makeCalendar(snapshot.calendar), upstreamGaps, warnings: warnings.length }),
        );
        io.stdout(checkFailureText(checkFailures));
        if (flags.grid) {
          const { renderGrid } = await import('../../report/grid.js');
          const width = io.isTTY ? process.stdout.columns : undefined;
          io.stdout(`\n${renderGrid(plan, snapshot, { color: useColor(io), ...(width ? { width } : {}) })}`);
        }
        if (flags.cost) io.stdout(`\n${await costText(loaded.pipeline, loaded.targetName, plan, warehouse)}`);
      }
    } finally {
      await warehouse.close();
    }
    io.exitCode = flags.exitCode && workToDo ? 1 : 0;
  });
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/**
 * `--cost`: BigQuery's on-demand bill per batch script (the SELECT's dry run, the replaced partitions
 * the DELETE bills, 10 MB minimum per statement: docs/bigquery.md), summed per processor and priced.
 */
async function costText(pipeline: Pipeline, targetName: string, plan: Plan, warehouse: Warehouse): Promise<string> {
  const target = pipeline.targets.get(targetName);
  if (target?.type !== 'bigquery') return `Cost: estimates need a BigQuery target (target '${targetName}' is ${target?.type ?? 'unknown'}).\n`;
  const lines = ['Cost (BigQuery on-demand estimate: dry-run SELECT + replaced partitions + 10 MB per billed statement)'];
  let total = 0;
  let unknown = false;
  for (const p of plan.processors) {
    if (p.batches.length === 0) continue;
    const processor = pipeline.nodes.get(p.name) as Processor;
    let bytes: number | undefined = 0;
    for (const batch of p.batches) {
      const estimate = await warehouse.estimateBytes({ pipeline, processor, batch, runId: 'plan', builtAt: 0, codeFingerprint: p.codeFingerprint });
      bytes = estimate === undefined || bytes === undefined ? undefined : bytes + estimate;
    }
    if (bytes === undefined) unknown = true;
    else total += bytes;
    const price = bytes === undefined ? 'unknown' : `$${((bytes / 2 ** 40) * target.pricePerTib).toFixed(2)}`;
    lines.push(`  ${p.name.padEnd(12)} ${(bytes === undefined ? 'unknown' : formatBytes(bytes)).padStart(10)}  ${price}`);
  }
  const totalPrice = `$${((total / 2 ** 40) * target.pricePerTib).toFixed(2)}`;
  lines.push(
    `  ${'total'.padEnd(12)} ${formatBytes(total).padStart(10)}  ${totalPrice}${unknown ? ' (plus batches that could not be estimated)' : ''} at $${target.pricePerTib}/TiB`,
  );
  return `${lines.join('\n')}\n`;
}
