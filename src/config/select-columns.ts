/**
 * The columns a processor's SELECT yields, where its text says so plainly: the outermost select list
 * made only of plain columns (`a`, `t.a`) and aliased expressions (`... AS a`). Anything else — a
 * `*`, an implicit alias, a select list dag cannot split — is unknown (undefined), and the first
 * batch checks the columns instead. Used by `dag validate` to report a check's unknown column early;
 * never to decide anything about data.
 */
import { normaliseSql } from '../core/fingerprint.js';

const IDENT = String.raw`(?:[A-Za-z_][A-Za-z0-9_]*|"(?:[^"]|"")+"|\x60[^\x60]+\x60)`;
const PLAIN = new RegExp(String.raw`^(?:${IDENT}\.)*(${IDENT})$`);
const ALIASED = new RegExp(String.raw`\s+as\s+(${IDENT})$`, 'i');

function unquote(name: string): string {
  if (name.startsWith('"')) return name.slice(1, -1).replace(/""/g, '"');
  if (name.startsWith('`')) return name.slice(1, -1);
  return name;
}

/** Lower-cased column names of the outermost SELECT, or undefined when the text does not say them plainly. */
export function selectedColumns(sqlText: string): Set<string> | undefined {
  // Templates become a plain word; comments go, strings stay whole (normaliseSql).
  const sql = normaliseSql(sqlText.replace(/\{\{[^}]*\}\}/g, 'dag_template'));
  const items = topLevelSelectList(sql);
  if (!items) return undefined;
  const names = new Set<string>();
  for (const raw of items) {
    const item = raw.trim();
    const aliased = ALIASED.exec(item);
    const plain = aliased ? undefined : PLAIN.exec(item);
    const name = aliased?.[1] ?? plain?.[1];
    if (name === undefined) return undefined;
    names.add(unquote(name).toLowerCase());
  }
  return names.size > 0 ? names : undefined;
}

/** The items between the first top-level SELECT and its FROM, split at top-level commas. */
function topLevelSelectList(sql: string): string[] | undefined {
  let depth = 0;
  let start = -1;
  const items: string[] = [];
  let itemStart = -1;
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i] as string;
    if (ch === "'" || ch === '"' || ch === '`') {
      const close = sql.indexOf(ch, i + 1);
      if (close < 0) return undefined;
      i = close;
      continue;
    }
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (depth !== 0) continue;
    const word = /^[A-Za-z_]+/.exec(sql.slice(i))?.[0]?.toLowerCase();
    const atWordStart = i === 0 || !/[A-Za-z0-9_.]/.test(sql[i - 1] as string);
    if (word && atWordStart) {
      if (start < 0 && word === 'select') {
        start = i + word.length;
        const distinct = /^\s+(distinct|all)\b/i.exec(sql.slice(start));
        itemStart = start + (distinct ? distinct[0].length : 0);
      } else if (start >= 0 && word === 'from') {
        items.push(sql.slice(itemStart, i));
        return items;
      }
      i += word.length - 1;
      continue;
    }
    if (start >= 0 && ch === ',') {
      items.push(sql.slice(itemStart, i));
      itemStart = i + 1;
    }
  }
  return undefined;
}
