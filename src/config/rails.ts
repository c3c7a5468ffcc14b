/**
 * Rails around what a pipeline file may ask for: no credentials in webhook URLs (they would travel
 * in every post and sit in a committed file), and no processor writing into the ledger schema, whose
 * tables only dag writes.
 */
import type { Target } from '../core/model.js';
import { redactUrl } from '../core/redact.js';
import { CODES } from './codes.js';
import { isRecord, valueAt, type Path } from './document.js';
import type { Reporter } from './report.js';

function hasCredentials(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username !== '' || parsed.password !== '';
  } catch {
    return false; // not a URL: the schema's pattern reported it
  }
}

export function checkWebhooks(top: Record<string, unknown>, report: Reporter): void {
  const places: Path[] = [['notify', 'webhook']];
  if (isRecord(top.processors)) for (const name of Object.keys(top.processors)) places.push(['processors', name, 'notify', 'webhook']);
  for (const path of places) {
    const url = valueAt(top, path);
    if (typeof url !== 'string' || !hasCredentials(url)) continue;
    report.error(
      CODES.webhookCredentials,
      path,
      'value',
      `the webhook URL ${redactUrl(url)} at ${path.join('.')} has credentials in it (user:password@)`,
      'remove the credentials from the URL; use a URL whose path or query carries a token the receiver checks (pipeline.yaml is usually committed, and dag has no secret store)',
    );
  }
}

export function checkLedgerSchema(top: Record<string, unknown>, targets: ReadonlyMap<string, Target>, report: Reporter): void {
  if (!isRecord(top.processors)) return;
  // DuckDB schema names ignore case; a BigQuery dataset that differs only in case is too close to call.
  const ledgers = new Map<string, { schema: string; targets: string[] }>();
  for (const target of targets.values()) {
    const key = target.ledgerSchema.toLowerCase();
    const known = ledgers.get(key) ?? { schema: target.ledgerSchema, targets: [] };
    ledgers.set(key, { ...known, targets: [...known.targets, target.name] });
  }
  for (const [name, raw] of Object.entries(top.processors)) {
    if (!isRecord(raw) || typeof raw.table !== 'string') continue;
    const schema = raw.table.split('.')[0] ?? '';
    const ledger = ledgers.get(schema.toLowerCase());
    if (ledger === undefined) continue;
    const which = `${ledger.schema}, the ledger schema of target${ledger.targets.length === 1 ? '' : 's'} ${ledger.targets.join(', ')}`;
    report.error(
      CODES.ledgerSchemaTable,
      ['processors', name, 'table'],
      'value',
      `processor ${name} writes ${raw.table}, in ${which}, where dag keeps its own state`,
      `write the table to another schema; or, if ${schema} is meant for data, give the target another ledger_schema (BigQuery: ledger_dataset)`,
    );
  }
}
