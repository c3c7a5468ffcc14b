#!/usr/bin/env node
// Writes ajv's standalone validator for schema/pipeline.schema.json next to the compiled
// dist/config/schema-validator.js, so no dag invocation loads ajv or compiles the schema (~60 ms).
// Runs after `tsc` in the build, prepare and test scripts. The file carries the schema text it was
// made from; src/config/schema-validator.ts ignores it (and compiles at runtime) when they differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { AJV_OPTIONS, PRECOMPILED_FILE, SCHEMA_FILE } from '../dist/config/schema-validator.js';

const schemaText = readFileSync(SCHEMA_FILE, 'utf8');
const schema = JSON.parse(schemaText);
const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
const validate = ajv.compile(schema);
let code = standaloneCode.default(ajv, validate);

// Errors name their definition by identity of `parentSchema` (schema-check.ts); in the standalone
// code each definition the validator uses is emitted as its own constant, found through ajv's scope.
const entries = [];
for (const [name, definition] of Object.entries(schema.definitions ?? {})) {
  const constant = ajv.scope.getValue('schema', definition);
  if (constant !== undefined && new RegExp(`\\bconst ${constant.str} = `).test(code)) entries.push(`[${constant.str}, ${JSON.stringify(name)}]`);
}
code += `\nmodule.exports.schemaText = ${JSON.stringify(schemaText)};\nmodule.exports.definitionNames = new Map([${entries.join(', ')}]);\n`;
writeFileSync(PRECOMPILED_FILE, code);
console.log(`build-validator: ${PRECOMPILED_FILE} (${entries.length} of ${Object.keys(schema.definitions ?? {}).length} definitions referenced)`);
