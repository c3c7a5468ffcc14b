/**
 * The compiled JSON Schema validator for pipeline files. Compiling the schema with ajv costs every
 * dag invocation ~60 ms (loading ajv, then generating code), so the build (scripts/build-validator.mjs,
 * run by `npm run build`, `prepare` and `npm test`) writes ajv's standalone code for it next to this
 * module. That file is used only when it was generated from the exact schema text on disk; otherwise
 * (running from src/, or a schema edited after the last build) ajv compiles the schema here, with the
 * same options, so the two paths validate and report identically.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Options, ValidateFunction } from 'ajv';

export const SCHEMA_FILE = fileURLToPath(new URL('../../schema/pipeline.schema.json', import.meta.url));
/** Where the build writes the standalone validator (CommonJS, so it loads synchronously). */
export const PRECOMPILED_FILE = fileURLToPath(new URL('./pipeline-validator.cjs', import.meta.url));

/** The options both paths compile with; `code.source` only matters to the build script. */
export const AJV_OPTIONS: Options = { allErrors: true, verbose: true, strict: false, allowUnionTypes: true };

export interface CompiledSchema {
  readonly validate: ValidateFunction;
  /**
   * Definition objects (as the validator's errors reference them in `parentSchema`) by name: ajv's
   * schemaPath is relative when a $ref compiles separately, so identity is what names a definition.
   */
  readonly definitionNames: ReadonlyMap<unknown, string>;
}

/** What the standalone module exports (see scripts/build-validator.mjs). */
interface PrecompiledModule {
  readonly default: ValidateFunction;
  readonly schemaText: string;
  readonly definitionNames: ReadonlyMap<unknown, string>;
}

const require = createRequire(import.meta.url);

let compiled: CompiledSchema | undefined;

export function schemaValidator(): CompiledSchema {
  if (compiled) return compiled;
  const text = readFileSync(SCHEMA_FILE, 'utf8');
  compiled = precompiled(text) ?? compileAtRuntime(text);
  return compiled;
}

function precompiled(schemaText: string): CompiledSchema | undefined {
  if (!existsSync(PRECOMPILED_FILE)) return undefined;
  let generated: PrecompiledModule;
  try {
    generated = require(PRECOMPILED_FILE) as PrecompiledModule;
  } catch {
    return undefined; // a damaged build output: compiling at runtime gives the same answers
  }
  if (generated.schemaText !== schemaText || !(generated.definitionNames instanceof Map)) return undefined;
  return { validate: generated.default, definitionNames: generated.definitionNames };
}

function compileAtRuntime(schemaText: string): CompiledSchema {
  const { Ajv } = require('ajv') as typeof import('ajv');
  const schema = JSON.parse(schemaText) as { definitions?: Record<string, unknown> };
  const validate = new Ajv(AJV_OPTIONS).compile(schema);
  return { validate, definitionNames: new Map(Object.entries(schema.definitions ?? {}).map(([name, def]) => [def, name])) };
}
