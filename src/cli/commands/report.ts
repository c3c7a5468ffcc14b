/**
 * `dag report --range A..B [--select SEL] [--target T] [--out FILE]`: one self-contained HTML page
 * (DESIGN §10) with the DAG, the coverage heatmap, the recent runs and the failures by category.
 * Reads like `dag plan` (plus three history queries) and never writes to the warehouse.
 */
import type { Command } from 'commander';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { makeCalendar } from '../../core/calendar.js';
import { UserError } from '../../core/diagnostics.js';
import { pipelineGraph } from '../../core/pipeline-graph.js';
import { renderReport } from '../../report/html/page.js';
import { verbHelp } from '../help.js';
import type { CliIO } from '../io.js';
import { addUp, SELECT_HELP, loadAndSelect, openTarget, printWarnings, readAndPlan } from '../prepare.js';
import { parseRange, RANGE_HELP } from '../range.js';
import { invocationNow, invocationToday } from '../today.js';

interface ReportFlags {
  readonly range: string;
  readonly select: readonly string[];
  readonly target?: string;
  readonly pipeline?: string;
  readonly out?: string;
  readonly runs: number;
}

/** Failure rows read for the page: enough for every tooltip and category table of a bad month. */
const FAILURE_ROWS = 20_000;

function parseRuns(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 1000) throw new UserError(`--runs '${text}' must be a whole number from 0 to 1000`, 2);
  return value;
}

export function registerReport(program: Command, io: CliIO): void {
  const command = program
    .command('report')
    .description('write one self-contained HTML page: the DAG, the coverage heatmap (tooltips per cell), recent runs and failures by category')
    .requiredOption('--range <A..B>', RANGE_HELP)
    .option('--select <SEL>', SELECT_HELP, addUp, [])
    .option('--target <T>', 'target from pipeline.yaml (default_target otherwise)')
    .option('--out <FILE>', 'where to write the page (default: .dag/report.html beside pipeline.yaml)')
    .option('--runs <N>', 'how many recent runs to list', parseRuns, 20)
    .option('--pipeline <FILE>', 'pipeline file (found from the working directory up otherwise)');
  verbHelp(command, {
    examples: [
      'dag report --range 2021-11-01..2021-11-30',
      'dag report --range -30d..today --out artifacts/dag.html',
      'dag report --range 2012-01-01.. --select +MLFS',
    ],
    exitCodes: [
      [0, 'written (whatever the coverage)'],
      [2, 'usage error, the pipeline or warehouse cannot be read, or FILE cannot be written'],
    ],
  });
  command.action(async (flags: ReportFlags) => {
    io.doing = 'report';
    const { runs } = flags;
    const loaded = await loadAndSelect(io, flags, true);
    const range = parseRange(flags.range, () => invocationToday(io, loaded.pipeline.timeZone));
    printWarnings(io, loaded.warnings);
    const warehouse = await openTarget(io, loaded, true);
    let planned;
    let history;
    try {
      planned = await readAndPlan(io, loaded, warehouse, range);
      io.doing = 'reading the run history';
      history = await warehouse.readRecentRuns({ runs, failures: FAILURE_ROWS });
    } finally {
      await warehouse.close();
    }
    io.doing = 'writing the report';
    const html = renderReport({
      plan: planned.plan,
      snapshot: planned.snapshot,
      calendar: makeCalendar(planned.snapshot.calendar),
      graph: pipelineGraph(loaded.pipeline, flags.select.length === 0 ? undefined : loaded.selection),
      history,
      generatedAt: invocationNow(io),
      timeZone: loaded.pipeline.timeZone,
    });
    const out = flags.out !== undefined ? resolve(io.cwd, flags.out) : join(dirname(loaded.pipeline.file), '.dag', 'report.html');
    writeAtomically(out, html);
    const shown = relative(io.cwd, out) || out;
    io.stdout(
      `dag: wrote ${shown.startsWith('..') ? out : shown} (${Math.ceil(Buffer.byteLength(html) / 1024)} KiB): ${planned.plan.processors.length} processors × ${range.end - range.start + 1} days, ${history.runs.length} recent runs\n`,
    );
  });
}

/** Written beside the target and renamed over it: a reader (a CI upload) never sees half a page. */
function writeAtomically(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(temp, text);
    renameSync(temp, file);
  } catch (error) {
    throw new UserError(`cannot write the report to ${file}: ${(error as Error).message}`, 2, 'pass --out with a path in a folder you may write');
  }
}
