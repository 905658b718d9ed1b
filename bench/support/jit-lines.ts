import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SourceMap } from './source-map.js';

/**
 * Instructions by source line of JIT-compiled JavaScript: callgrind counts the instructions of
 * each address (`--dump-instr=yes`), and V8's jitdump (`node --perf-prof`, the format Linux
 * `perf` reads) says which code object each address belongs to and, for optimized code, the
 * script line and column of each stretch of it; the bundle's source map turns those into
 * `file:line` of the sources. V8 gives positions per statement or so, and an inlined
 * function's code is given its own lines, so the counts are per statement, not per
 * instruction. Code V8 gives no position (builtins, bytecode handlers) is counted under its name.
 */

/** A code object from the jitdump: where it lives, its name, and its positions by address. */
interface JitCode {
  readonly start: number;
  readonly size: number;
  readonly name: string;
  /** Its place in the dump: code space is reused, and the later of two overlapping codes is the live one. */
  readonly loaded: number;
  readonly positions: Positions;
}

/** Sorted by address: from `addresses[i]` on, the code is `files[i]`'s `lines[i]`, `columns[i]` (1-based). */
interface Positions {
  readonly addresses: number[];
  readonly lines: number[];
  readonly columns: number[];
  /** The script of each position: code inlines functions of other scripts. */
  readonly files: string[];
}

const NO_POSITIONS: Positions = { addresses: [], lines: [], columns: [], files: [] };

/**
 * V8 writes each position's address as if the code started after an ELF header, where
 * `perf inject` puts it (src/diagnostics/perf-jit.cc): 64 bytes on.
 */
const ELF_HEADER_SIZE = 64;

const CODE_LOAD = 0;
const CODE_DEBUG_INFO = 2;

/**
 * Reads a jitdump file (tools/perf/Documentation/jitdump-specification.txt in the Linux tree),
 * written whole: V8 buffers it, so read it after the process has exited. V8 moves no code
 * under `--perf-prof` (it writes no move records), and it writes no unload records: code
 * objects can overlap where code space was reused.
 */
export function readJitDump(path: string): JitCode[] {
  const data = readFileSync(path);
  const codes: JitCode[] = [];
  if (data.length < 12) return codes;
  let debug: { address: number; positions: Positions } | undefined;
  for (let at = data.readUInt32LE(8); at + 16 <= data.length; ) {
    const id = data.readUInt32LE(at);
    const size = data.readUInt32LE(at + 4);
    // A record cut short: the end of what was written.
    if (size < 16 || at + size > data.length) break;
    const body = at + 16;
    if (id === CODE_LOAD) {
      const address = Number(data.readBigUInt64LE(body + 16));
      const nameEnd = data.indexOf(0, body + 40);
      codes.push({
        start: address,
        size: Number(data.readBigUInt64LE(body + 24)),
        name: data.toString('utf8', body + 40, nameEnd),
        loaded: codes.length,
        // A debug-info record comes before the load of the code it describes.
        positions: debug?.address === address ? debug.positions : NO_POSITIONS,
      });
      debug = undefined;
    } else if (id === CODE_DEBUG_INFO) {
      const address = Number(data.readBigUInt64LE(body));
      const count = Number(data.readBigUInt64LE(body + 8));
      const entries: Array<[number, number, number, string]> = [];
      let p = body + 16;
      let file = '';
      for (let i = 0; i < count && p + 16 <= at + size; i++) {
        const entryAddress = Number(data.readBigUInt64LE(p)) - ELF_HEADER_SIZE;
        // Then the script's name, NUL-terminated (0xff 0: the same as the entry before).
        const nameEnd = data.indexOf(0, p + 16);
        if (nameEnd === -1) break;
        if (data[p + 16] !== 0xff) file = data.toString('utf8', p + 16, nameEnd);
        entries.push([entryAddress, data.readInt32LE(p + 8), data.readInt32LE(p + 12), file]);
        p = nameEnd + 1;
      }
      entries.sort((a, b) => a[0] - b[0]);
      debug = {
        address,
        positions: {
          addresses: entries.map((e) => e[0]),
          lines: entries.map((e) => e[1]),
          columns: entries.map((e) => e[2]),
          files: entries.map((e) => e[3]),
        },
      };
    }
    at += size;
  }
  return codes.sort((a, b) => a.start - b.start || a.loaded - b.loaded);
}

/**
 * Self instructions by address from a callgrind dump written with `--dump-instr=yes`
 * (`positions: instr`, or `instr line`). Addresses are absolute (`0x…`), relative (`+n`,
 * `-n`, in decimal or `0x…`) or `*`, the same. The line after a `calls=` line gives the call's
 * inclusive cost, the callee's rather than the caller's, and its position does not become the
 * one the next line is relative to: it is skipped whole (callgrind's dump.c).
 */
export function readInstructionCosts(
  text: string,
  into: Map<number, number> = new Map(),
): Map<number, number> {
  let last = 0;
  let callCost = false;
  // The first cost follows the position columns.
  let costField = 1;
  for (const line of text.split('\n')) {
    const first = line.charCodeAt(0);
    if (line.startsWith('positions:')) {
      costField = line.trim().split(/\s+/).length - 1;
      continue;
    }
    if (line.startsWith('calls=')) {
      callCost = true;
      continue;
    }
    // 0x…, +n, -n or *: a cost line.
    if (first !== 48 && first !== 43 && first !== 45 && first !== 42) continue;
    if (callCost) {
      callCost = false;
      continue;
    }
    const fields = line.split(' ');
    const position = fields[0]!;
    if (position.startsWith('0x')) last = Number.parseInt(position, 16);
    else if (position.startsWith('+')) last += Number(position.slice(1));
    else if (position.startsWith('-')) last -= Number(position.slice(1));
    const cost = Number(fields[costField]);
    if (Number.isFinite(cost)) into.set(last, (into.get(last) ?? 0) + cost);
  }
  return into;
}

/**
 * Instructions by `file:line` for code of `bundle` (the path of the script `map` describes),
 * by path and line for other scripts' code inlined into it, and by name for the rest of V8's
 * code (builtins such as `Builtin:FindOrderedHashMapEntry`). Addresses outside V8's code (the
 * C++ of Node and V8: GC, the runtime) are left out.
 */
export function instructionsByLine(
  costs: ReadonlyMap<number, number>,
  codes: readonly JitCode[],
  map: SourceMap,
  bundle: string,
): Map<string, number> {
  const starts = codes.map((code) => code.start);
  const longest = codes.reduce((max, code) => Math.max(max, code.size), 0);
  const out = new Map<string, number>();
  const add = (key: string, n: number) => out.set(key, (out.get(key) ?? 0) + n);
  for (const [address, n] of costs) {
    const code = codeAt(codes, starts, longest, address);
    if (code === undefined) continue;
    const at = upperBound(code.positions.addresses, address) - 1;
    if (at < 0) {
      add(code.name.replace(/ .*$/, ''), n);
      continue;
    }
    const { lines, columns, files } = code.positions;
    const file = files[at]!.startsWith('file:') ? fileURLToPath(files[at]!) : files[at]!;
    if (file === bundle)
      add(map.locate(lines[at]! - 1, Math.max(0, columns[at]! - 1)) ?? code.name.replace(/ .*$/, ''), n);
    else {
      // A package's or Node's own script, inlined: named by its path from node_modules on.
      const modules = file.lastIndexOf('node_modules/');
      add(`${modules === -1 ? file : file.slice(modules + 13)}:${lines[at]}`, n);
    }
  }
  return out;
}

/** The code that holds `address`: of those that cover it, the one loaded last. */
function codeAt(
  codes: readonly JitCode[],
  starts: readonly number[],
  longest: number,
  address: number,
): JitCode | undefined {
  let found: JitCode | undefined;
  for (let i = upperBound(starts, address) - 1; i >= 0 && codes[i]!.start > address - longest; i--) {
    const code = codes[i]!;
    if (address < code.start + code.size && (found === undefined || code.loaded > found.loaded)) found = code;
  }
  return found;
}

/** The index of the first element greater than `value` in a sorted array. */
function upperBound(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! <= value) low = mid + 1;
    else high = mid;
  }
  return low;
}
