/**
 * `dag plan --json` as a stream of text pieces (DESIGN §6: never one string in memory). The pieces
 * concatenate to exactly `JSON.stringify(planToJson(plan, extras), null, 2)`, but only one partition
 * or batch is turned into text at a time, so a plan of millions of non-fresh partitions prints
 * without a giant string. Pure: the CLI decides how pieces are buffered and written.
 */
import { batchToJson, partitionToJson, planHeadToJson, planTailToJson, processorHeadToJson, type PlanJsonExtras } from './plan-json.js';
import type { Plan, ProcessorPlan } from './plan.js';

/** JSON.stringify(value, null, 2) as it reads nested at `indent`. */
function pretty(value: unknown, indent: string): string {
  const text = JSON.stringify(value, null, 2);
  return text.includes('\n') ? text.replace(/\n/g, `\n${indent}`) : text;
}

/** `"key": value` lines of an object's members, at `indent`. */
function members(object: object, indent: string): string[] {
  return Object.entries(object).map(([key, value]) => `${indent}${JSON.stringify(key)}: ${pretty(value, indent)}`);
}

/** `"key": [ ...items ]` written item by item. */
function* arrayMember<T>(key: string, items: readonly T[], toJson: (item: T) => unknown, indent: string): Generator<string> {
  if (items.length === 0) {
    yield `${indent}${JSON.stringify(key)}: []`;
    return;
  }
  const inner = `${indent}  `;
  yield `${indent}${JSON.stringify(key)}: [\n`;
  for (let i = 0; i < items.length; i++) yield `${i === 0 ? '' : ',\n'}${inner}${pretty(toJson(items[i] as T), inner)}`;
  yield `\n${indent}]`;
}

function* processorChunks(p: ProcessorPlan, indent: string): Generator<string> {
  const inner = `${indent}  `;
  yield `${indent}{\n${members(processorHeadToJson(p), inner).join(',\n')},\n`;
  yield* arrayMember('partitions', p.partitions, partitionToJson, inner);
  yield ',\n';
  yield* arrayMember('batches', p.batches, batchToJson, inner);
  yield `\n${indent}}`;
}

/** The plan's JSON text in pieces of at most one partition (plus a processor's head), ending with a newline. */
export function* planJsonChunks(plan: Plan, extras: PlanJsonExtras = {}): Generator<string> {
  yield `{\n${members(planHeadToJson(plan), '  ').join(',\n')},\n`;
  if (plan.processors.length === 0) yield '  "processors": []';
  else {
    yield '  "processors": [\n';
    for (let i = 0; i < plan.processors.length; i++) {
      if (i > 0) yield ',\n';
      yield* processorChunks(plan.processors[i] as ProcessorPlan, '    ');
    }
    yield '\n  ]';
  }
  yield `,\n${members(planTailToJson(plan, extras), '  ').join(',\n')}\n}\n`;
}
