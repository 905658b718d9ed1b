import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Generated line → sorted [column, source index, source line] segments, from a v3 source map. */
export function decodeMappings(mappings: string): Array<Array<[number, number, number]>> {
  const lines: Array<Array<[number, number, number]>> = [];
  let source = 0;
  let sourceLine = 0;
  for (const line of mappings.split(';')) {
    const segments: Array<[number, number, number]> = [];
    let column = 0;
    for (const segment of line.split(',')) {
      if (segment === '') continue;
      const values: number[] = [];
      let value = 0;
      let shift = 0;
      for (const char of segment) {
        const digit = BASE64.indexOf(char);
        value += (digit & 31) << shift;
        if (digit & 32) shift += 5;
        else {
          values.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      column += values[0]!;
      // The source column and name index (values 3 and 4) are not needed here.
      if (values.length >= 4) {
        source += values[1]!;
        sourceLine += values[2]!;
        segments.push([column, source, sourceLine]);
      }
    }
    lines.push(segments);
  }
  return lines;
}

/** A bundle's source map, read for `file:line` lookups of generated positions. */
export interface SourceMap {
  /** Per generated line (0-based), its segments: see `decodeMappings`. */
  readonly lines: Array<Array<[number, number, number]>>;
  /** The sources, relative to `root`. */
  readonly sources: string[];
  /** `file:line` (1-based line) of a generated position: 0-based line and column. */
  locate(line: number, column: number): string | undefined;
}

/** Reads `<bundle>.map`, written by esbuild with `sourcemap: 'external'`. */
export function readSourceMap(bundlePath: string, root: string): SourceMap {
  const map = JSON.parse(readFileSync(`${bundlePath}.map`, 'utf8')) as {
    sources: string[];
    mappings: string;
  };
  const lines = decodeMappings(map.mappings);
  const sources = map.sources.map((s) => relative(root, resolve(dirname(bundlePath), s)));
  return {
    lines,
    sources,
    locate(line, column) {
      let found: [number, number, number] | undefined;
      for (const segment of lines[line] ?? []) {
        if (segment[0] <= column) found = segment;
        else break;
      }
      return found === undefined ? undefined : `${sources[found[1]]}:${found[2] + 1}`;
    },
  };
}
