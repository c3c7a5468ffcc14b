/**
 * The SQL template language, deliberately tiny: `{{ start_date }}`, `{{ end_date }}`, `{{ this }}`
 * and `{{ ref('NAME') }}`. Parsing is pure; adapters turn the parts into their dialect's literals
 * and quoted table names, so user text never becomes a date literal by pasting.
 */
export type TemplatePart =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'start_date' | 'end_date' | 'this'; readonly offset: number }
  | { readonly kind: 'ref'; readonly name: string; readonly offset: number }
  /** Something inside `{{ }}` that is none of the above; validate reports it, render refuses it. */
  | { readonly kind: 'unknown'; readonly expression: string; readonly offset: number };

const TAG = /\{\{\s*([\s\S]*?)\s*\}\}/g;
const REF = /^ref\(\s*(['"])([^'"]+)\1\s*\)$/;

export function parseTemplate(text: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const match of text.matchAll(TAG)) {
    const offset = match.index;
    if (offset > last) parts.push({ kind: 'text', text: text.slice(last, offset) });
    const expression = match[1] ?? '';
    const ref = REF.exec(expression);
    if (ref) parts.push({ kind: 'ref', name: ref[2] ?? '', offset });
    else if (expression === 'start_date' || expression === 'end_date' || expression === 'this') parts.push({ kind: expression, offset });
    else parts.push({ kind: 'unknown', expression, offset });
    last = offset + match[0].length;
  }
  if (last < text.length) parts.push({ kind: 'text', text: text.slice(last) });
  return parts;
}

export interface TemplateValues {
  readonly startDate: string;
  readonly endDate: string;
  readonly self: string;
  readonly ref: (name: string) => string;
}

/** Renders parsed parts with values already in the target dialect (typed literals, quoted names). */
export function renderTemplate(parts: readonly TemplatePart[], values: TemplateValues): string {
  let out = '';
  for (const part of parts) {
    switch (part.kind) {
      case 'text':
        out += part.text;
        break;
      case 'start_date':
        out += values.startDate;
        break;
      case 'end_date':
        out += values.endDate;
        break;
      case 'this':
        out += values.self;
        break;
      case 'ref':
        out += values.ref(part.name);
        break;
      case 'unknown':
        throw new Error(`template expression {{ ${part.expression} }} reached rendering; validate should have rejected it`);
    }
  }
  return out;
}

/**
 * A SELECT as users write it in a .sql file often ends with `;` and a comment line; adapters wrap the
 * SELECT in their own statements, where either would be a syntax error. Dialect-neutral: `;` and `--`.
 */
export function withoutStatementEnd(sql: string): string {
  let select = sql;
  for (;;) {
    const trimmed = select.replace(/\s+$/, '');
    const lastLineStart = trimmed.lastIndexOf('\n') + 1;
    if (trimmed.endsWith(';')) select = trimmed.slice(0, -1);
    else if (/^\s*--/.test(trimmed.slice(lastLineStart))) select = trimmed.slice(0, lastLineStart);
    else return trimmed;
  }
}
