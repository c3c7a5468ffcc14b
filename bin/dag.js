#!/usr/bin/env -S node --max-semi-space-size=32
// The larger young generation halves garbage-collection time when a plan holds a million partitions.
// The bin stays plain JS so `npx dag` works right after `npm ci` (which compiles src/ to dist/ in "prepare").
import('../dist/bundle/main.js').catch((error) => {
  const missing = error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/bundle/main.js');
  process.stderr.write(missing
    ? 'dag: the compiled CLI is missing (dist/). Run `npm ci` or `npm run build` in the dag package first.\n'
    : `dag: could not start: ${error && error.message ? error.message : error}. This is a bug in dag.\n`);
  process.exit(2);
});
