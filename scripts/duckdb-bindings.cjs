// Bundled into dist/bundle/dag.cjs in place of @duckdb/node-bindings/duckdb.js (scripts/bundle-cli.mjs):
// it loads the same native binding, resolved from that package's folder (the platform packages are its
// dependencies, not dag's, so a pnpm install finds them only from there). It differs only in how it tells
// musl from glibc on Linux: detect-libc's first check, the program interpreter named in node's own ELF
// header, is done here, and detect-libc itself (which loads child_process, ~8 ms of every DuckDB
// command) is asked only when that check cannot decide.
'use strict';
const { closeSync, openSync, readSync } = require('node:fs');
const { createRequire } = require('node:module');

const fromBindings = createRequire(require.resolve('@duckdb/node-bindings/package.json'));

/** PT_INTERP of /proc/self/exe (a 64-bit little-endian ELF), as detect-libc's interpreterPath reads it. */
function interpreter() {
  try {
    const elf = Buffer.alloc(2048);
    const fd = openSync('/proc/self/exe', 'r');
    let length;
    try {
      length = readSync(fd, elf, 0, elf.length, 0);
    } finally {
      closeSync(fd);
    }
    if (length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf.readUInt8(4) !== 2 || elf.readUInt8(5) !== 1) return null;
    const offset = elf.readUInt32LE(32);
    const size = elf.readUInt16LE(54);
    const count = elf.readUInt16LE(56);
    for (let i = 0; i < count; i++) {
      const header = offset + i * size;
      if (header + 40 > length) return null;
      if (elf.readUInt32LE(header) !== 3) continue;
      const at = elf.readUInt32LE(header + 8);
      const bytes = elf.readUInt32LE(header + 32);
      if (at + bytes > length) return null;
      return elf.subarray(at, at + bytes).toString().replace(/\0.*$/g, '');
    }
  } catch {
    // Unreadable: detect-libc decides.
  }
  return null;
}

function isLinuxMusl() {
  const path = interpreter();
  if (path?.includes('/ld-musl-')) return true;
  if (path?.includes('/ld-linux-')) return false;
  try {
    const { familySync, MUSL } = fromBindings('detect-libc');
    return familySync() === MUSL;
  } catch {
    return false;
  }
}

function binding() {
  const { platform, arch } = process;
  switch (`${platform}-${arch}`) {
    case 'linux-x64':
    case 'linux-arm64':
      return fromBindings(`@duckdb/node-bindings-${platform}-${arch}${isLinuxMusl() ? '-musl' : ''}/duckdb.node`);
    case 'darwin-arm64':
    case 'darwin-x64':
    case 'win32-arm64':
    case 'win32-x64':
      return fromBindings(`@duckdb/node-bindings-${platform}-${arch}/duckdb.node`);
    default:
      try {
        return fromBindings(`@duckdb/node-bindings-${platform}-${arch}/duckdb.node`);
      } catch {
        throw new Error(`Error loading duckdb native binding: unsupported arch '${arch}' for platform '${platform}'`);
      }
  }
}

module.exports = binding();
