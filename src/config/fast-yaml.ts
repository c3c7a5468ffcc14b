/**
 * A fast path for reading pipeline.yaml's values (issue 15): the `yaml` package, which keeps the
 * positions every diagnostic needs, took 0.6–1 s to parse an 8,000-line file in a fresh process,
 * js-yaml 0.1 s. js-yaml only reads files written in a plain subset of YAML, where the two cannot
 * disagree: block and flow collections of one-line scalars, no anchors, aliases, merge keys, tags,
 * block scalars, complex keys or directives. Plain scalars resolve exactly as `yaml`'s core
 * schema resolves them (its own tests and resolvers). Anything else, or anything js-yaml rejects
 * (a duplicate key, a syntax error), is left to the `yaml` parser, which also reports it.
 */
import * as jsyaml from 'js-yaml';
import { isScalar, Schema } from 'yaml';

/**
 * Characters that may start what the subset leaves out (`&` `*` anchors and aliases, `!` tags, `|`
 * `>` block scalars, `<<` merge keys, `%` directives, `?` complex keys, `@` and backquotes reserved),
 * tabs and carriage returns. They may also sit harmlessly inside a quoted string: then the slow
 * path reads the file, which is only slower.
 */
const OUTSIDE_SUBSET = /[&*!|>%?@`<\t\r]/;
/** A line that continues a scalar from the line before (no `key:` and no `- ` item): folding rules. */
const CONTINUATION = /^[ ]*(?![ #]|-(?:[ ]|$)|$)(?!(?:[^\s#:'"][^#:]*|'[^'\n]*'|"[^"\n\\]*")[ ]*:(?:[ ]|$))/m;
/** A flow collection as a key (`[a, b]: x`): the two parsers turn it into different strings. */
const COLLECTION_KEY = /^[ ]*(?:-[ ]+)*[[{][^\n]*[\]}][ ]*:(?:[ ]|$)/m;

interface CoreTag {
  readonly test: RegExp;
  readonly resolve: (text: string, onError: (message: string) => void, options: object) => unknown;
}

/** `yaml`'s core schema scalar tags in its order (null, bool, int, float), as `yaml` tries them on a plain scalar. */
const CORE_TAGS = (new Schema({ schema: 'core' }).tags as unknown as Partial<CoreTag>[]).filter(
  (tag): tag is CoreTag => tag.test instanceof RegExp && typeof tag.resolve === 'function',
);
const RESOLVE_OPTIONS = { intAsBigInt: false };

const coreScalar = new jsyaml.Type('tag:dag,2026:core-scalar', {
  kind: 'scalar',
  resolve: (data) => CORE_TAGS.some((tag) => tag.test.test(data)),
  construct: (data) => {
    const tag = CORE_TAGS.find((t) => t.test.test(data)) as CoreTag;
    const value = tag.resolve(data, () => undefined, RESOLVE_OPTIONS);
    return isScalar(value) ? value.value : value; // null and booleans come back as Scalar nodes
  },
});
const SCHEMA = jsyaml.FAILSAFE_SCHEMA.extend({ implicit: [coreScalar] });

/** Keys the two parsers name differently: `yaml` calls a null key '', js-yaml 'null'. */
const NULL_KEYS = new Set(['null', 'Null', 'NULL', '~', '']);

/** The file's values when it is in the plain subset and js-yaml reads it; undefined for the `yaml` parser to do it. */
export function fastYamlValue(text: string): { value: unknown } | undefined {
  if (OUTSIDE_SUBSET.test(text) || CONTINUATION.test(text) || COLLECTION_KEY.test(text)) return undefined;
  let value: unknown;
  try {
    value = jsyaml.load(text, { schema: SCHEMA });
  } catch {
    return undefined;
  }
  return hasNullKey(value) ? undefined : { value: value === undefined ? null : value };
}

function hasNullKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasNullKey);
  if (typeof value !== 'object' || value === null) return false;
  for (const [key, item] of Object.entries(value)) if (NULL_KEYS.has(key) || hasNullKey(item)) return true;
  return false;
}
