/**
 * `dag report`'s page (DESIGN §10): one self-contained HTML file — styles and the one script inline,
 * a Content-Security-Policy that forbids every fetch, so it opens from a CI artifact with no network:
 * the DAG, the coverage heatmap with a tooltip per cell, the recent runs and the failures by category.
 */
import type { Calendar } from '../../core/calendar.js';
import { formatDay } from '../../core/dates.js';
import type { PipelineGraph } from '../../core/pipeline-graph.js';
import type { Plan } from '../../core/plan.js';
import type { Snapshot } from '../../core/snapshot.js';
import type { RunHistory } from '../../warehouse/port.js';
import { reportData } from './data.js';
import { escapeHtml, scriptJson } from './escape.js';
import { checkFindings, failuresByCategory, rebuiltFrom, runsTable } from './history.js';
import { HEATMAP_SCRIPT } from './script.js';
import { dagSvg } from './svg.js';
import { REPORT_STYLE } from './style.js';

export interface ReportInput {
  readonly plan: Plan;
  readonly snapshot: Snapshot;
  readonly calendar: Calendar;
  readonly graph: PipelineGraph;
  readonly history: RunHistory;
  /** When the report was made (epoch ms): the invocation's "now". */
  readonly generatedAt: number;
  readonly timeZone: string;
}

const LEGEND: readonly [string, string, string][] = [
  ['=', 'fresh', 'fresh'],
  ['M', 'missing', 'missing, to build'],
  ['S', 'stale', 'stale, to rebuild'],
  ['B', 'blocked', 'blocked'],
  ['X', 'failed', 'failed in its last run'],
];

export function renderReport(input: ReportInput): string {
  const { plan } = input;
  // Failures of processors the snapshot read: for those the ledger tells what was built since.
  const history = {
    ...input.history,
    failures: input.history.failures.filter((f) => input.snapshot.tables.has(f.processor)),
    checks: input.history.checks.filter((f) => input.snapshot.tables.has(f.processor)),
  };
  const scoped =
    history.failures.length < input.history.failures.length ? '<p class="note">Failures of processors outside this report\'s selection are left out.</p>' : '';
  const data = reportData(plan, input.snapshot, input.calendar, history);
  const rebuilt = rebuiltFrom(input.snapshot);
  const range = `${formatDay(plan.range.start)}..${formatDay(plan.range.end)}`;
  const s = plan.summary;
  const fold = data.unit === 'day' ? 'one column per day' : `one column per ${data.unit}, showing its worst partition`;
  const legend = LEGEND.map(([letter, cls, text]) => `<span class="key ${cls}">${letter}</span> ${text}`).join(' ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>dag report · ${escapeHtml(plan.pipeline)} · ${range}</title>
<style>${REPORT_STYLE}</style>
</head>
<body>
<header>
<h1>dag report · ${escapeHtml(plan.pipeline)}</h1>
<p>target <b>${escapeHtml(plan.target)}</b> · range <b>${range}</b> · made ${new Date(input.generatedAt).toISOString().replace('T', ' ').slice(0, 16)} UTC (pipeline timezone ${escapeHtml(input.timeZone)})</p>
<p class="summary"><span>${s.expected} expected</span><span class="fresh">${s.fresh} fresh</span><span class="missing">${s.missing} missing</span><span class="stale">${s.stale} stale</span><span class="build">${s.build} to build in ${s.batches} batches</span><span class="blocked">${s.blocked} blocked</span></p>
</header>
<section id="dag">
<h2>Pipeline</h2>
<p class="note">Sources (rounded) and processors, left to right in dependency order; each edge is labelled with its mapping. A processor's colour is its worst state in the range.</p>
<div class="scroll">${dagSvg(input.graph, plan)}</div>
</section>
<section id="coverage">
<h2>Coverage</h2>
<p class="note">${escapeHtml(fold)}. Hover a cell for its status, reasons or lacking partitions, and its last failure. ${legend}</p>
<div class="heatmap" id="heatmap-frame"><div id="heatmap-names"></div><div id="heatmap-scroll"><canvas id="heatmap" aria-label="coverage heatmap: ${data.rows.length} processors × ${data.days} days"></canvas></div></div>
<div id="tip" role="tooltip" hidden></div>
</section>
<section id="runs">
<h2>Recent runs</h2>
${runsTable(history, rebuilt)}${scoped}
</section>
<section id="failures">
<h2>Failures by category</h2>
${failuresByCategory(history, rebuilt)}
</section>
<section id="checks">
<h2>Check findings</h2>
${checkFindings(history)}
</section>
<script type="application/json" id="dag-data">${scriptJson(data)}</script>
<script>${HEATMAP_SCRIPT}</script>
</body>
</html>
`;
}
