/**
 * `dag graph [--select SEL] [--format mermaid|dot|json]`: the pipeline's DAG, sources and processors,
 * each edge labelled by its mapping. Reads pipeline.yaml only: no target is opened.
 */
import type { Command } from 'commander';
import { UserError } from '../../core/diagnostics.js';
import { formatGraph, GRAPH_FORMATS, type GraphFormat } from '../../core/graph-format.js';
import { pipelineGraph } from '../../core/pipeline-graph.js';
import { USAGE_EXIT, verbHelp } from '../help.js';
import type { CliIO } from '../io.js';
import { addUp, SELECT_HELP, loadPipelineAndTarget, printWarnings } from '../prepare.js';
import { selectProcessors } from '../../core/selection.js';

interface GraphFlags {
  readonly select: readonly string[];
  readonly pipeline?: string;
  readonly format: string;
}

function parseFormat(text: string): GraphFormat {
  const format = GRAPH_FORMATS.find((f) => f === text);
  if (format) return format;
  throw new UserError(`--format '${text}' is not a graph format`, 2, `use one of: ${GRAPH_FORMATS.join(', ')}`);
}

export function registerGraph(program: Command, io: CliIO): void {
  const command = program
    .command('graph')
    .description("print the pipeline's DAG: sources and processors, edges labelled by mapping (same, offset -1, lookback 14 min 10)")
    .option('--select <SEL>', `${SELECT_HELP}; what they read is shown too`, addUp, [])
    .option(
      '--format <FORMAT>',
      "mermaid (GitHub renders it), dot (Graphviz: dag graph --format dot | dot -Tsvg > dag.svg) or json (graphlib's JSON)",
      'mermaid',
    )
    .option('--pipeline <FILE>', 'pipeline file (found from the working directory up otherwise)');
  verbHelp(command, {
    examples: ['dag graph', 'dag graph --select +PCF --format dot | dot -Tsvg > pcf.svg', 'dag graph --format json > dag.json'],
    exitCodes: [[0, 'printed'], USAGE_EXIT],
  });
  command.action(async (flags: GraphFlags) => {
    io.doing = 'graph';
    const format = parseFormat(flags.format);
    const loaded = await loadPipelineAndTarget(io, flags);
    printWarnings(io, loaded.warnings);
    const selection = flags.select.length === 0 ? undefined : selectProcessors(loaded.pipeline, flags.select);
    io.stdout(formatGraph(pipelineGraph(loaded.pipeline, selection), format));
  });
}
