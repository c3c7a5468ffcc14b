/**
 * Shape checks: the shipped JSON Schema (schema/pipeline.schema.json) run through ajv, every error
 * turned into a Diagnostic at the YAML position of the offending key or value. The same schema
 * drives editor completion, so the file and `dag validate` never disagree about shape.
 */
import type { Diagnostic } from '../core/diagnostics.js';
import { closestName, didYouMean } from '../core/did-you-mean.js';
import { redactUrl, redactUrlsIn } from '../core/redact.js';
import { CODES, type DiagnosticCode } from './codes.js';
import { basename } from 'node:path';
import { valueAt, type ConfigDocument, type Path, type PathSegment } from './document.js';
import { schemaValidator } from './schema-validator.js';

/** Diagnostic code and advice for errors raised inside a schema definition (by its name). */
const BY_DEFINITION: Readonly<Record<string, { code: DiagnosticCode; expected: string; hint: string }>> = {
  name: { code: CODES.invalidName, expected: 'a name of letters, digits, _ and -, starting with a letter or _', hint: 'rename it, e.g. player_stats or PCF' },
  identifier: { code: CODES.invalidValue, expected: 'an identifier (letters, digits and _)', hint: 'use letters, digits and _ only' },
  table: {
    code: CODES.invalidTable,
    expected: 'schema.table (two identifiers joined by one dot)',
    hint: 'write the schema (BigQuery: dataset) and the table, e.g. precompute.player_daily_cache',
  },
  column: {
    code: CODES.invalidColumn,
    expected: 'a column name (letters, digits and _)',
    hint: 'name the DATE column that partitions the table, e.g. game_date',
  },
  date: { code: CODES.invalidDate, expected: 'a date YYYY-MM-DD', hint: 'write an ISO date such as 2021-10-25' },
  duration: { code: CODES.invalidDuration, expected: 'a duration such as 30s, 10m or 1h', hint: 'write a whole number and a unit: ms, s, m or h' },
  url: { code: CODES.invalidUrl, expected: 'an http:// or https:// URL', hint: 'write the full URL, e.g. https://hooks.example.com/dag' },
  offset: {
    code: CODES.invalidOffset,
    expected: 'a negative whole number of partitions (-1 = the previous one) or calendar days such as -3d',
    hint: 'offsets look back: { offset: -1 }; use same for the same partition',
  },
  lookback: {
    code: CODES.invalidLookback,
    expected: 'a positive whole number of partitions, or calendar days such as 30d',
    hint: 'write { lookback: 14 } or { lookback: 30d }',
  },
  mapping: { code: CODES.invalidMapping, expected: 'same, { offset: -k }, or { lookback: n }', hint: 'use same, { offset: -1 }, or { lookback: 7, min: 5 }' },
  commandArgument: {
    code: CODES.invalidCommand,
    expected: 'a string (quote numbers: "3")',
    hint: 'every argv item is a string; quote numbers and placeholders: "3", "{start}"',
  },
  command: {
    code: CODES.invalidCommand,
    expected: 'an argv array of strings, e.g. [python, jobs/x.py, --start, "{start}"]',
    hint: 'commands run without a shell: write each argument as one list item',
  },
};

function pointerToPath(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** `processors.PCF.upstream[0]`: how a person names a place in the file. */
export function humanPath(path: Path): string {
  let out = '';
  for (const segment of path) out += typeof segment === 'number' || /^\d+$/.test(segment) ? `[${segment}]` : out ? `.${segment}` : segment;
  return out || 'the top level';
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? 'not-a-number (.nan)' : 'an infinite number';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') {
    // `notify: https://user:pw@host/...` (a URL where a mapping belongs) must not print the secret either.
    const shown = redactUrlsIn(value);
    return `the string '${shown.length > 80 ? `${shown.slice(0, 77)}...` : shown}'`;
  }
  return `${typeof value === 'number' && Number.isInteger(value) ? 'the integer' : `the ${typeof value}`} ${String(value)}`;
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
};

function expectedTypes(types: unknown): string {
  const list = (Array.isArray(types) ? types : String(types).split(',')).map((t) => TYPE_WORDS[String(t)] ?? String(t));
  return list.join(' or ');
}

/** The whole file (or package.json's `dag` key, or a JS config's export) is not a mapping. */
function topLevelTypeProblem(doc: ConfigDocument, actual: unknown): [string, string] {
  const file = basename(doc.file);
  if (file === 'package.json') {
    return [
      `the "dag" key of package.json must be the pipeline itself (a mapping with version: 1 ...), not ${describeValue(actual)}`,
      'write the pipeline under "dag", or remove the key and keep the pipeline in pipeline.yaml',
    ];
  }
  if (/\.[cm]?[jt]s$/.test(file)) {
    return [
      `${file} must export the pipeline as a plain object, not ${describeValue(actual)}`,
      typeof actual === 'function'
        ? 'export the object itself (dag does not call exported functions): export default { version: 1, ... }'
        : 'export default { version: 1, processors: { ... } }',
    ];
  }
  return [`the top level must be a mapping, not ${describeValue(actual)}`, 'start the file with `version: 1` and then the keys of docs/pipeline-yaml.md'];
}

/** Infinite, not-a-number and too-large numbers: the schema's integer check lets .inf and 1e400 through. */
function unusableNumbers(value: unknown): { path: Path; value: number }[] {
  const found: { path: Path; value: number }[] = [];
  const seen = new Set<object>();
  const walk = (at: unknown, path: PathSegment[]): void => {
    if (typeof at === 'number') {
      if (!Number.isFinite(at) || (Number.isInteger(at) && !Number.isSafeInteger(at))) found.push({ path: [...path], value: at });
      return;
    }
    // Aliases may make the value a graph (even a cyclic one): each object once.
    if (typeof at !== 'object' || at === null || seen.has(at) || path.length > 20) return;
    seen.add(at);
    for (const [key, child] of Object.entries(at)) walk(child, [...path, key]);
  };
  walk(value, []);
  return found;
}

/** Runs the schema and returns one diagnostic per real problem, positioned in the document. */
export function checkShape(doc: ConfigDocument): Diagnostic[] {
  const { validate, definitionNames } = schemaValidator();
  const numbers = unusableNumbers(doc.value).map(
    ({ path, value }): Diagnostic => ({
      code: CODES.invalidValue,
      severity: 'error',
      message: `${humanPath(path)} is ${describeValue(value)}${Number.isFinite(value) ? ', too large to be exact' : ''}`,
      file: doc.displayFile,
      ...doc.position(path, 'value'),
      hint: 'write an ordinary whole number',
    }),
  );
  if (validate(doc.value)) return numbers;
  const diagnostics: Diagnostic[] = [...numbers];
  const add = (code: DiagnosticCode, path: Path, part: 'key' | 'value', message: string, hint: string): Diagnostic => {
    const diagnostic: Diagnostic = { code, severity: 'error', message, file: doc.displayFile, ...doc.position(path, part), hint };
    diagnostics.push(diagnostic);
    return diagnostic;
  };
  const typoFor = new Set<string>();
  const missing = new Map<Diagnostic, string>();
  for (const error of validate.errors ?? []) {
    // `if` only says "the then-branch failed"; the branch's own errors follow. Errors carrying a
    // propertyName repeat what the propertyNames error says.
    if (error.keyword === 'if' || (error.propertyName !== undefined && error.keyword !== 'propertyNames')) continue;
    const path = pointerToPath(error.instancePath);
    const where = humanPath(path);
    const actual = valueAt(doc.value, path);
    const definition = definitionNames.get(error.parentSchema);
    const advice = definition === undefined ? undefined : BY_DEFINITION[definition];
    switch (error.keyword) {
      case 'additionalProperties': {
        const key = String((error.params as { additionalProperty: string }).additionalProperty);
        const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
        typoFor.add(`${error.instancePath}|${closestName(key, known) ?? ''}`);
        const upstreamMapping = path.length === 4 && path[0] === 'processors' && path[2] === 'upstream';
        const hint =
          upstreamMapping && key === 'same'
            ? `write ${String(path[3])}: same (the word, not a mapping)`
            : path.length === 0
              ? `known keys here: ${known.join(', ')} (and x-anything, which dag ignores: a place for YAML anchors)`
              : `known keys here: ${known.join(', ')}`;
        add(
          CODES.unknownKey,
          [...path, key],
          'key',
          `unknown key '${key}' ${path.length === 0 ? 'at the top level' : `in ${where}`}${didYouMean(key, known)}`,
          hint,
        );
        break;
      }
      case 'required': {
        const key = String((error.params as { missingProperty: string }).missingProperty);
        missing.set(
          add(
            CODES.missingKey,
            path,
            'key',
            `${path.length === 0 ? 'the file' : where} is missing the required key '${key}'`,
            key === 'version' ? 'add `version: 1` at the top of the file' : `add '${key}:' to ${where}`,
          ),
          `${error.instancePath}|${key}`,
        );
        break;
      }
      case 'propertyNames': {
        const name = String((error.params as { propertyName: string }).propertyName);
        const shown = name === '' ? 'an empty key (null: or "":)' : `'${name}'`;
        add(
          CODES.invalidName,
          [...path, name],
          'key',
          `${shown} in ${where} is not a valid name: expected ${BY_DEFINITION.name!.expected}`,
          BY_DEFINITION.name!.hint,
        );
        break;
      }
      case 'type': {
        if (path.length === 0) {
          add(CODES.wrongType, path, 'value', ...topLevelTypeProblem(doc, actual));
          break;
        }
        // A value of a known kind (a duration, a table, a mapping...) says what kind, not just the type.
        const expected = advice?.expected ?? expectedTypes((error.params as { type: unknown }).type);
        // `timeout: 60`: say what to write, not only that a unit is missing.
        const hint =
          definition === 'duration' && typeof actual === 'number' && Number.isInteger(actual) && actual > 0
            ? `give it a unit: ${actual}s for seconds, or ${actual}m for minutes`
            : (advice?.hint ?? `write ${expected} here`);
        add(advice?.code ?? CODES.wrongType, path, 'value', `${where} must be ${expected}, not ${describeValue(actual)}`, hint);
        break;
      }
      case 'const':
      case 'enum': {
        if (path.length === 1 && path[0] === 'version') {
          add(
            CODES.unsupportedVersion,
            path,
            'value',
            `version ${JSON.stringify(actual)} is not supported: this dag reads format version 1`,
            'write `version: 1`',
          );
        } else if (path[0] === 'targets' && path[2] === 'type') {
          add(
            CODES.unknownTargetType,
            path,
            'value',
            `target type ${JSON.stringify(actual)} is not known${typeof actual === 'string' ? didYouMean(actual, ['duckdb', 'bigquery']) : ''}`,
            'use type: duckdb (an embedded file) or type: bigquery',
          );
        } else {
          const allowed = (error.params as { allowedValues?: unknown[]; allowedValue?: unknown }).allowedValues ?? [
            (error.params as { allowedValue?: unknown }).allowedValue,
          ];
          const guess = typeof actual === 'string' ? didYouMean(actual, allowed.map(String)) : '';
          add(
            CODES.invalidValue,
            path,
            'value',
            `${where} must be one of ${allowed.map(String).join(', ')}, not ${describeValue(actual)}${guess}`,
            `write one of ${allowed.map(String).join(', ')}`,
          );
        }
        break;
      }
      default: {
        // pattern, minimum, maximum, minItems, minLength: a value of the right type but wrong form.
        const limit = (error.params as { limit?: unknown }).limit;
        if (error.keyword === 'minItems' && advice) add(advice.code, path, 'value', `${where} must not be empty`, advice.hint);
        else if (error.keyword === 'minLength' && limit === 1)
          add(advice?.code ?? CODES.invalidValue, path, 'value', `${where} must not be empty`, advice?.hint ?? 'write a value, or remove the key');
        else if (error.keyword === 'minimum' && !advice)
          add(
            CODES.invalidValue,
            path,
            'value',
            `${where} must be at least ${String(limit)}, not ${describeValue(actual)}`,
            `write a whole number of ${String(limit)} or more, or remove the key for the default`,
          );
        // A webhook URL may carry a secret: the message shows it redacted.
        else if (advice)
          add(
            advice.code,
            path,
            'value',
            `${where} must be ${advice.expected}, not ${definition === 'url' && typeof actual === 'string' ? `'${redactUrl(actual)}'` : describeValue(actual)}`,
            advice.hint,
          );
        else
          add(
            CODES.invalidValue,
            path,
            'value',
            `${where} ${error.message ?? 'is not valid'} (got ${describeValue(actual)})`,
            'see docs/pipeline-yaml.md for the allowed values',
          );
      }
    }
  }
  // `tabel: x` yields both "unknown key 'tabel'; did you mean 'table'?" and "missing 'table'":
  // one typo, one error; the unknown-key diagnostic already says everything.
  return dedupe(diagnostics.filter((d) => !typoFor.has(missing.get(d) ?? '')));
}

function dedupe(diagnostics: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = `${d.code}|${d.line}|${d.column}|${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
