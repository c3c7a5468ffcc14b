import { describe, expect, it } from 'vitest';
import { findCycles, reachable, reverseEdges, topologicalOrder, type IndexGraph } from '../src/core/graph.js';

/** reads[i] = the nodes node i reads. */
function graph(reads: number[][]): IndexGraph {
  return { size: reads.length, reads };
}

describe('topologicalOrder', () => {
  it('puts upstream first and keeps declaration order among peers', () => {
    // 0 reads 2; 1 reads nothing; 2 reads nothing; 3 reads 0 and 1
    expect(topologicalOrder(graph([[2], [], [], [0, 1]]))).toEqual([1, 2, 0, 3]);
  });

  it('ignores self-edges (a processor reading its own earlier partitions)', () => {
    expect(topologicalOrder(graph([[0], [0, 1]]))).toEqual([0, 1]);
  });

  it('leaves out nodes on a cycle and what depends on them', () => {
    expect(topologicalOrder(graph([[], [2], [1], [2], []]))).toEqual([0, 4]);
  });

  it('orders a 10,000-node chain declared backwards without overflowing the stack', () => {
    const n = 10_000;
    // node i reads node i+1: the last declared must come first.
    const reads = Array.from({ length: n }, (_, i) => (i + 1 < n ? [i + 1] : []));
    const order = topologicalOrder(graph(reads));
    expect(order.length).toBe(n);
    expect(order[0]).toBe(n - 1);
    expect(order[n - 1]).toBe(0);
  });
});

describe('findCycles', () => {
  it('finds none in a DAG, and none for self-edges', () => {
    expect(findCycles(graph([[], [0], [0, 1], [3]]))).toEqual([]);
  });

  it('returns each cycle once, starting and ending at its first-declared node', () => {
    // 0 reads 1, 1 reads 0; 2 reads 4, 3 reads 2, 4 reads 3
    expect(findCycles(graph([[1], [0], [4], [2], [3]]))).toEqual([
      [0, 1, 0],
      [2, 4, 3, 2],
    ]);
  });

  it('finds a cycle deep inside a large graph (10,000-node chain) without recursion', () => {
    const n = 10_000;
    const reads = Array.from({ length: n }, (_, i) => (i > 0 ? [i - 1] : []));
    reads[5_000] = [4_999, 9_990]; // 5000 reads 9990, which reads down the chain to 5000
    const cycles = findCycles(graph(reads));
    expect(cycles.length).toBe(1);
    const cycle = cycles[0]!;
    expect(cycle[0]).toBe(5_000);
    expect(cycle.at(-1)).toBe(5_000);
    expect(cycle.length).toBe(9_990 - 5_000 + 2);
    // every step follows a real edge
    for (let k = 0; k + 1 < cycle.length; k++) expect(reads[cycle[k]!]).toContain(cycle[k + 1]);
  });

  it('reports a shortest cycle through the first node when the component has several', () => {
    // 0 reads 1 and 2; 1 reads 2; 2 reads 0
    expect(findCycles(graph([[1, 2], [2], [0]]))).toEqual([[0, 2, 0]]);
  });
});

describe('reachable', () => {
  it('follows edges iteratively from several starts', () => {
    const g = graph([[1], [2], [], [2], []]);
    expect([...reachable(g.reads, [0])].sort()).toEqual([0, 1, 2]);
    expect([...reachable(reverseEdges(g), [2])].sort()).toEqual([0, 1, 2, 3]);
  });
});
