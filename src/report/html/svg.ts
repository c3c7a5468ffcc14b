/**
 * The DAG as inline SVG, laid out here (no layout library): layers by depth from pipeline-graph.ts,
 * left to right, edges as curves from what is read to its reader with the mapping as label (drawn on
 * small graphs, always in the edge's tooltip). A processor's box is coloured by its worst state in the
 * range, so the picture doubles as a health map.
 */
import { graphLayers, type PipelineGraph } from '../../core/pipeline-graph.js';
import type { Plan } from '../../core/plan.js';
import { escapeHtml } from './escape.js';

const NODE_H = 30;
const ROW_GAP = 14;
const LAYER_GAP = 170;
/** Vertical room per edge port on a box's side. */
const PORT_GAP = 14;
const PAD = 16;
const CHAR_W = 7.2;
/** Past this many edges, labels only in tooltips: a dense graph with every label drawn is unreadable. */
const LABELLED_EDGES = 60;

type Health = 'source' | 'fresh' | 'work' | 'blocked' | 'context';

function healthOf(plan: Plan, name: string, kind: 'source' | 'processor', context: boolean): Health {
  if (kind === 'source') return 'source';
  const counts = plan.processors.find((p) => p.name === name)?.counts;
  if (!counts || context) return 'context';
  if (counts.blocked > 0) return 'blocked';
  if (counts.build > 0) return 'work';
  return 'fresh';
}

/** Where edges attach: spread along a box's side, ordered by the other end's height, so labels part. */
function ports(
  edges: readonly { v: string; w: string }[],
  end: 'v' | 'w',
  other: (e: { v: string; w: string }) => number,
): Map<{ v: string; w: string }, number> {
  const groups = new Map<string, { v: string; w: string }[]>();
  for (const e of edges) {
    const key = e[end];
    const list = groups.get(key) ?? [];
    list.push(e);
    groups.set(key, list);
  }
  const at = new Map<{ v: string; w: string }, number>();
  for (const list of groups.values()) {
    list.sort((a, b) => other(a) - other(b));
    list.forEach((e, k) => {
      at.set(e, (k + 1) / (list.length + 1));
    });
  }
  return at;
}

export function dagSvg(graph: PipelineGraph, plan: Plan): string {
  const layers = graphLayers(graph);
  const edges = graph.edges();
  const between = edges.filter((e) => e.v !== e.w);
  // A box grows with its edges so that each gets its own port.
  const degree = new Map<string, number>();
  for (const e of between) {
    degree.set(`${e.v}>`, (degree.get(`${e.v}>`) ?? 0) + 1);
    degree.set(`>${e.w}`, (degree.get(`>${e.w}`) ?? 0) + 1);
  }
  const heightOf = (name: string): number => Math.max(NODE_H, PORT_GAP * (Math.max(degree.get(`${name}>`) ?? 0, degree.get(`>${name}`) ?? 0) + 1));
  const widths = layers.map((layer) => Math.max(90, ...layer.map((name) => Math.ceil(name.length * CHAR_W) + 24)));
  const xs: number[] = [];
  let x = PAD;
  for (const w of widths) {
    xs.push(x);
    x += w + LAYER_GAP;
  }
  const layerHeight = (layer: readonly string[]): number => layer.reduce((sum, name) => sum + heightOf(name), 0) + Math.max(0, layer.length - 1) * ROW_GAP;
  const tallest = Math.max(NODE_H, ...layers.map(layerHeight));
  const height = PAD * 2 + tallest + 24;
  const width = Math.max(200, x - LAYER_GAP + PAD);
  const box = new Map<string, { x: number; y: number; w: number; h: number }>();
  layers.forEach((layer, i) => {
    // Centre short layers vertically against the tallest one.
    let y = PAD + 24 + (tallest - layerHeight(layer)) / 2;
    for (const name of layer) {
      const h = heightOf(name);
      box.set(name, { x: xs[i]!, y, w: widths[i]!, h });
      y += h + ROW_GAP;
    }
  });
  const middle = (name: string): number => {
    const b = box.get(name);
    return b ? b.y + b.h / 2 : 0;
  };
  const outPort = ports(between, 'v', (e) => middle(e.w));
  const inPort = ports(between, 'w', (e) => middle(e.v));
  const labelled = edges.length <= LABELLED_EDGES;
  const parts: string[] = [];
  for (const edge of edges) {
    const from = box.get(edge.v);
    const to = box.get(edge.w);
    if (!from || !to) continue;
    const mapping = escapeHtml(graph.edge(edge).mapping);
    const title = `<title>${escapeHtml(edge.v)} → ${escapeHtml(edge.w)}: ${mapping}</title>`;
    if (edge.v === edge.w) {
      // A processor reading its own earlier partitions: a loop over its box.
      const cx = from.x + from.w / 2;
      parts.push(
        `<g class="edge self">${title}<path d="M${cx - 12},${from.y} C${cx - 24},${from.y - 22} ${cx + 24},${from.y - 22} ${cx + 12},${from.y}" marker-end="url(#arrow)"/>${labelled ? `<text x="${cx}" y="${from.y - 18}" text-anchor="middle">${mapping}</text>` : ''}</g>`,
      );
      continue;
    }
    const x1 = from.x + from.w;
    const y1 = from.y + from.h * (outPort.get(edge) ?? 0.5);
    const x2 = to.x;
    const y2 = to.y + to.h * (inPort.get(edge) ?? 0.5);
    const bend = Math.max(30, (x2 - x1) / 2);
    // The label sits on the curve near its reader, where the ports keep edges apart.
    const label = labelled ? `<text x="${x2 - 8}" y="${y2 - 3}" text-anchor="end">${mapping}</text>` : '';
    parts.push(`<g class="edge">${title}<path d="M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}" marker-end="url(#arrow)"/>${label}</g>`);
  }
  for (const name of graph.nodes()) {
    const node = graph.node(name);
    const at = box.get(name);
    if (!at) continue;
    const health = healthOf(plan, name, node.kind, node.context);
    const counts = plan.processors.find((p) => p.name === name)?.counts;
    const facts = counts ? ` · ${counts.fresh}/${counts.expected} fresh, ${counts.build} to build, ${counts.blocked} blocked` : '';
    const shape = node.kind === 'source' ? `rx="12"` : `rx="3"`;
    parts.push(
      `<g class="node ${health}" data-node="${escapeHtml(name)}"><title>${escapeHtml(name)} (${node.kind}, ${escapeHtml(node.table)})${node.calendar ? ' · the calendar' : ''}${facts}</title><rect x="${at.x}" y="${at.y}" width="${at.w}" height="${at.h}" ${shape}/><text x="${at.x + at.w / 2}" y="${at.y + at.h / 2 + 4}" text-anchor="middle">${escapeHtml(name)}</text></g>`,
    );
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="dag" width="${Math.ceil(width)}" height="${Math.ceil(height)}" viewBox="0 0 ${Math.ceil(width)} ${Math.ceil(height)}" role="img" aria-label="the pipeline's DAG">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>',
    ...parts,
    '</svg>',
  ].join('\n');
}
