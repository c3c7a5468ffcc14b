/**
 * Checks of a processor's SQL template against its declaration: every {{ expression }} known,
 * every ref() a declared upstream (error), every declared upstream used (warning).
 */
import { didYouMean } from '../core/did-you-mean.js';
import { parseTemplate, type TemplatePart } from '../core/template.js';
import { CODES } from './codes.js';
import type { Path } from './document.js';
import { positionInText, type Reporter } from './report.js';

const KNOWN_EXPRESSIONS = ['start_date', 'end_date', 'this', "ref('NAME')"];

export interface SqlCheck {
  readonly processor: string;
  readonly file: string;
  readonly text: string;
  /** Declared upstream names and where each is declared. */
  readonly upstreamPaths: ReadonlyMap<string, Path>;
  readonly names: ReadonlySet<string>;
  readonly report: Reporter;
  /** Warn about declared upstreams the SQL never reads (a processor's SQL; not a check's). Default true. */
  readonly warnUnused?: boolean;
}

export function checkSqlTemplate({ processor, file, text, upstreamPaths, names, report, warnUnused = true }: SqlCheck): void {
  const used = new Set<string>();
  const parts = parseTemplate(text);
  reportUnclosedTags(processor, file, text, parts, report);
  for (const part of parts) {
    if (part.kind === 'unknown') {
      report.inFile(
        'error',
        CODES.unknownTemplateVariable,
        file,
        positionInText(text, part.offset),
        `unknown template expression {{ ${part.expression} }} in the SQL of ${processor}${didYouMean(part.expression, KNOWN_EXPRESSIONS)}`,
        `templates know ${KNOWN_EXPRESSIONS.map((e) => `{{ ${e} }}`).join(', ')}`,
      );
    } else if (part.kind === 'this') {
      used.add(processor);
    } else if (part.kind === 'ref') {
      used.add(part.name);
      if (upstreamPaths.has(part.name)) continue;
      const at = positionInText(text, part.offset);
      if (part.name === processor) {
        report.inFile(
          'error',
          CODES.refNotUpstream,
          file,
          at,
          `${processor} refs itself but does not declare itself as an upstream`,
          `add ${processor}: { offset: -1 } (or a lookback with exclude_current) to its upstream, and prefer {{ this }}`,
        );
      } else if (names.has(part.name)) {
        report.inFile(
          'error',
          CODES.refNotUpstream,
          file,
          at,
          `ref('${part.name}') in the SQL of ${processor} names no declared upstream`,
          `add ${part.name} to ${processor}'s upstream so dag builds it first and tracks its changes`,
        );
      } else {
        report.inFile(
          'error',
          CODES.refNotUpstream,
          file,
          at,
          `ref('${part.name}') in the SQL of ${processor} names nothing in the pipeline${didYouMean(part.name, upstreamPaths.keys())}`,
          `ref() takes an upstream name of ${processor}: ${[...upstreamPaths.keys()].join(', ') || '(none declared)'}`,
        );
      }
    }
  }
  for (const [name, path] of warnUnused ? upstreamPaths : []) {
    if (used.has(name) || !names.has(name)) continue;
    report.warning(
      CODES.unusedUpstream,
      path,
      Number.isInteger(path[path.length - 1]) ? 'value' : 'key',
      name === processor
        ? `${processor} declares itself as an upstream but its SQL never uses {{ this }}`
        : `${processor} declares upstream '${name}' but its SQL never uses {{ ref('${name}') }}`,
      name === processor
        ? 'read the earlier partitions through {{ this }}, or drop the self-read'
        : `read it through {{ ref('${name}') }} (so dag can tell which table it is), or drop it from upstream`,
    );
  }
}

/**
 * `{{ start_date` with no `}}` is left in the text as is and would reach the warehouse as SQL; the
 * template parser sees plain text there, so look for `{{` in the text parts.
 */
function reportUnclosedTags(processor: string, file: string, text: string, parts: readonly TemplatePart[], report: Reporter): void {
  parts.forEach((part, i) => {
    if (part.kind !== 'text') return;
    const next = parts[i + 1];
    // A text part ends where the next tag starts (or at the end of the file).
    const start = (next !== undefined && next.kind !== 'text' ? next.offset : text.length) - part.text.length;
    const open = part.text.indexOf('{{');
    if (open < 0) return;
    report.inFile(
      'error',
      CODES.unclosedTemplate,
      file,
      positionInText(text, start + open),
      `{{ without a closing }} in the SQL of ${processor}`,
      "close the expression: {{ start_date }}, {{ end_date }}, {{ this }} or {{ ref('NAME') }}",
    );
  });
}
