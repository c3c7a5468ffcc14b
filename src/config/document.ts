/**
 * A configuration file parsed into plain values that still knows where each value came from, so
 * every diagnostic can say file:line:column. YAML and JSON files are parsed with the `yaml` package
 * (JSON is YAML 1.2); JS/TS configs have no positions (line 0).
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Alias, type Node, type Pair, type Scalar, type YAMLMap } from 'yaml';
import type { Diagnostic } from '../core/diagnostics.js';
import { CODES } from './codes.js';
import { fastYamlValue } from './fast-yaml.js';

export type PathSegment = string | number;
export type Path = readonly PathSegment[];

export interface Position {
  readonly line: number;
  readonly column: number;
}

export interface ConfigDocument {
  /** Absolute path. */
  readonly file: string;
  /** The path shown in diagnostics (relative to the working directory when inside it). */
  readonly displayFile: string;
  readonly value: unknown;
  /**
   * Where the value at `path` starts (or its key, with part 'key'); the nearest existing ancestor
   * when the path does not exist (a missing key points at the mapping that lacks it).
   */
  position(path: Path, part?: 'key' | 'value'): Position;
}

const NO_POSITION: Position = { line: 0, column: 0 };

/** A document with no position information (JS/TS configs). */
export function plainDocument(file: string, displayFile: string, value: unknown): ConfigDocument {
  return { file, displayFile, value, position: () => NO_POSITION };
}

export type ParsedYaml = { ok: true; document: ConfigDocument; diagnostics: Diagnostic[] } | { ok: false; diagnostics: Diagnostic[] };

/**
 * Parses YAML (or JSON) text. Duplicate keys are reported but do not stop validation; any other
 * syntax error does, since positions in a broken document cannot be trusted. `root` selects a
 * sub-tree (the `dag` key of package.json).
 */
export function parseYamlDocument(file: string, displayFile: string, text: string, root: Path = []): ParsedYaml {
  const fast = fastYamlValue(text);
  if (!fast) return parseWithPositions(file, displayFile, text, root);
  // Positions are only wanted for a diagnostic: the `yaml` parser then reads the file, once.
  let positioned: ConfigDocument | undefined;
  const position = (path: Path, part?: 'key' | 'value'): Position => {
    if (!positioned) {
      const parsed = parseWithPositions(file, displayFile, text, root);
      positioned = parsed.ok ? parsed.document : plainDocument(file, displayFile, undefined);
    }
    return positioned.position(path, part);
  };
  let value = fast.value;
  for (const segment of root) value = isRecord(value) ? value[String(segment)] : undefined;
  return { ok: true, document: { file, displayFile, value, position }, diagnostics: [] };
}

/** The `yaml` parser, with a position for every value, the syntax problems it finds, and duplicate keys. */
function parseWithPositions(file: string, displayFile: string, text: string, root: Path): ParsedYaml {
  const lineCounter = new LineCounter();
  // The parser's own duplicate-key check is quadratic per mapping (10,000 processors took seconds);
  // duplicateKeys() below does the same in one pass.
  // Merge keys (`<<: *defaults`) are YAML 1.1, but people write them in YAML 1.2 files all the time.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, keepSourceTokens: false, merge: true });
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const diagnostics: Diagnostic[] = [];
  let fatal = false;
  for (const error of doc.errors) {
    // After the first syntax error the parser's further complaints are mostly its echoes.
    if (fatal) break;
    fatal = true;
    diagnostics.push({
      code: CODES.yamlSyntax,
      severity: 'error',
      message: `YAML syntax: ${syntaxMessage(error.message)}`,
      file: displayFile,
      ...at(error.pos[0]),
      hint: 'fix the YAML syntax (indentation, quotes, colons) at this position',
    });
  }
  if (fatal) return { ok: false, diagnostics };
  // The parser accepts these; turning the document into values would throw on them.
  const anchored = anchorsOfAliases(doc);
  const aliasProblem = aliasProblems(doc, anchored)[0];
  if (aliasProblem) {
    diagnostics.push({
      code: CODES.yamlSyntax,
      severity: 'error',
      message: `YAML syntax: ${aliasProblem.message}`,
      file: displayFile,
      ...at(aliasProblem.offset),
      hint: aliasProblem.hint,
    });
    return { ok: false, diagnostics };
  }
  for (const key of duplicateKeys(doc)) {
    diagnostics.push({
      code: CODES.duplicateKey,
      severity: 'error',
      message: `key '${String(key.value)}' appears twice in one mapping; the second one would silently win`,
      file: displayFile,
      ...at(key.range?.[0] ?? 0),
      hint: 'remove or rename one of the two keys',
    });
  }

  // An alias stands for its anchor's node: positions inside it point at the anchored text.
  const deref = (node: unknown): Node | null => (followAliases(node, anchored) as Node | undefined) ?? null;
  const pairIndex = new WeakMap<YAMLMap, Map<string, Pair>>();
  /** The pair that gives `name` its value: the last one written (as toJS), else one merged in by `<<`. */
  const findPair = (map: YAMLMap, name: string, seen = new Set<YAMLMap>()): Pair | undefined => {
    let index = pairIndex.get(map);
    if (!index) {
      index = new Map();
      for (const item of map.items) if (isPair(item) && isScalar(item.key)) index.set(keyName(item.key), item);
      pairIndex.set(map, index);
    }
    const own = index.get(name);
    if (own || seen.has(map)) return own;
    seen.add(map);
    const merge = index.get(MERGE);
    if (!merge || !isMergeKey(merge.key)) return undefined;
    const from = deref(merge.value);
    for (const source of isSeq(from) ? from.items.map(deref) : [from]) {
      const found = isMap(source) ? findPair(source, name, seen) : undefined;
      if (found) return found;
    }
    return undefined;
  };
  const nodeAt = (path: Path): { node: Node | null; key: Node | null; resolved: boolean } => {
    let node: Node | null = deref(doc.contents);
    let key: Node | null = null;
    for (const segment of [...root, ...path]) {
      if (isMap(node)) {
        const pair = findPair(node, String(segment));
        if (!pair) return { node, key, resolved: false };
        key = pair.key as Node;
        node = deref(pair.value);
        // `other:` with nothing after it: point at the key, not at the empty space after the colon.
        if (node === null || (isScalar(node) && node.value === null && node.range?.[0] === node.range?.[1])) return { node: key, key, resolved: true };
      } else if (isSeq(node) && /^\d+$/.test(String(segment))) {
        const item = deref(node.items[Number(segment)]);
        if (!item) return { node, key, resolved: false };
        key = null;
        node = item;
      } else {
        return { node, key, resolved: false };
      }
    }
    return { node, key, resolved: true };
  };
  const position = (path: Path, part: 'key' | 'value' = 'value'): Position => {
    const { node, key, resolved } = nodeAt(path);
    // A missing path points at the key of the nearest mapping that exists: "this mapping lacks X".
    const target = part === 'key' || !resolved ? (key ?? node) : node;
    const offset = target?.range?.[0];
    return offset === undefined ? { line: 1, column: 1 } : at(offset);
  };

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION });
  } catch (error) {
    // Aliases of aliases expand geometrically ("billion laughs"); anything else here is unforeseen,
    // and still a problem of this file, not a crash.
    const bomb = error instanceof Error && /alias count/i.test(error.message);
    const firstAlias = firstAliasOffset(doc);
    diagnostics.push({
      code: CODES.yamlSyntax,
      severity: 'error',
      message: bomb
        ? `YAML syntax: aliases expand to more than ${MAX_ALIAS_EXPANSION.toLocaleString('en-US')} values`
        : `YAML syntax: ${firstLine(error instanceof Error ? error.message : String(error))}`,
      file: displayFile,
      ...at(firstAlias ?? 0),
      hint: bomb
        ? 'write the repeated values out, or nest fewer aliases inside anchors'
        : 'check the anchors (&name), aliases (*name) and merge keys (<<) of the file',
    });
    return { ok: false, diagnostics };
  }
  for (const segment of root) value = isRecord(value) ? value[String(segment)] : undefined;
  return { ok: true, document: { file, displayFile, value, position }, diagnostics };
}

/** Second and later occurrences of a scalar key within one mapping, in document order. */
function duplicateKeys(doc: ReturnType<typeof parseDocument>): Scalar[] {
  const found: Scalar[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const name = keyName(pair.key);
        if (seen.has(name)) found.push(pair.key);
        seen.add(name);
      }
    },
  });
  return found;
}

/** How many values aliases may expand to: plenty for `<<: *defaults` on thousands of processors. */
const MAX_ALIAS_EXPANSION = 100_000;
const MERGE = '<<';

/** A key as toJS names it: `null:` (or an empty key) is '', a merge key '<<', `1:` '1'. */
function keyName(key: Scalar): string {
  const value = key.value;
  if (value === null || value === undefined) return '';
  if (typeof value === 'symbol') return value.description ?? '';
  return String(value);
}

/** A plain `<<` key (merge: true), not a quoted "<<" string. */
function isMergeKey(key: unknown): boolean {
  return isScalar(key) && (typeof key.value === 'symbol' || (key.value === MERGE && (key.type === undefined || key.type === 'PLAIN')));
}

/** The node an alias (or an alias of an alias...) stands for; anything else as it is. */
function followAliases(node: unknown, anchored: ReadonlyMap<Alias, Node | undefined>): unknown {
  for (let hops = 0; isAlias(node) && hops < 100; hops++) node = anchored.get(node);
  return node;
}

/** Aliases to no anchor, and merge keys whose value is not a mapping (or a list of them). */
function aliasProblems(
  doc: ReturnType<typeof parseDocument>,
  anchored: ReadonlyMap<Alias, Node | undefined>,
): { message: string; offset: number; hint: string }[] {
  const problems: { message: string; offset: number; hint: string }[] = [];
  const resolveAlias = (node: unknown): unknown => followAliases(node, anchored);
  visit(doc, {
    Alias(_, alias) {
      if (!anchored.get(alias)) {
        problems.push({
          message: `alias *${alias.source} names no anchor defined before it`,
          offset: alias.range?.[0] ?? 0,
          hint: `define &${alias.source} on a value above this line, or fix the name`,
        });
      }
    },
    Pair(_, pair) {
      if (!isMergeKey(pair.key)) return;
      const unresolved = (node: unknown): boolean => isAlias(node) && !anchored.get(node);
      // An alias to no anchor is reported as that (by the Alias visitor), not as a bad merge.
      if (unresolved(pair.value) || (isSeq(pair.value) && pair.value.items.some(unresolved))) return;
      const value = resolveAlias(pair.value);
      const sources = isSeq(value) ? value.items.map(resolveAlias) : [value];
      if (sources.every((source) => isMap(source))) return;
      const offset = (pair.value as Node | null)?.range?.[0] ?? (pair.key as Node).range?.[0] ?? 0;
      problems.push({
        message: 'a merge key (<<) takes a mapping, an alias of one, or a list of them',
        offset,
        hint: 'write <<: *defaults where &defaults marks a mapping',
      });
    },
  });
  return problems.sort((a, b) => a.offset - b.offset);
}

/**
 * The node each alias stands for: the nearest anchor of that name before it, as YAML says. One walk
 * for all; yaml's own Alias.resolve(doc) walks the whole document per alias (quadratic with
 * `<<: *defaults` on thousands of processors).
 */
function anchorsOfAliases(doc: ReturnType<typeof parseDocument>): Map<Alias, Node | undefined> {
  const latest = new Map<string, Node>();
  const resolved = new Map<Alias, Node | undefined>();
  visit(doc, {
    Node(_, node) {
      if (isAlias(node)) resolved.set(node, latest.get(node.source));
      else if (node.anchor) latest.set(node.anchor, node);
    },
  });
  return resolved;
}

function firstAliasOffset(doc: ReturnType<typeof parseDocument>): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Alias(_, alias) {
      offset = alias.range?.[0];
      return visit.BREAK;
    },
  });
  return offset;
}

/** The parser's message, in the words of someone editing one pipeline file. */
function syntaxMessage(message: string): string {
  const first = firstLine(message);
  if (/multiple documents/i.test(first)) return 'the file holds more than one YAML document (a line ---); dag reads one pipeline per file';
  return first;
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.trim();
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value when it is a string; anything else (a wrong type the schema reported, or nothing) is undefined. */
export function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The value at `path` (list indexes and mapping keys); undefined where the path leaves the document. */
export function valueAt(value: unknown, path: Path): unknown {
  let at = value;
  for (const segment of path) {
    if (Array.isArray(at)) at = at[Number(segment)];
    else if (isRecord(at)) at = at[String(segment)];
    else return undefined;
  }
  return at;
}
