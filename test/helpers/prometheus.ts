/**
 * A parser of the Prometheus text exposition format (version 0.0.4), for the metrics suites:
 * `# HELP` and `# TYPE` lines, samples `name{label="value",…} value [timestamp]` with escaped
 * label values, and histograms' `_bucket`, `_sum` and `_count` series gathered under their
 * family. Checked against parse-prometheus-text-format in test/metrics/prometheus-text.test.ts
 * (which, unlike this one, cannot tell apart the series of a histogram with labels).
 */

export interface Series {
  readonly labels: Record<string, string>;
  readonly value: number;
  /** Histograms: the observations, their sum, and the cumulative count per bucket (`le`). */
  readonly count?: number;
  readonly sum?: number;
  readonly buckets?: Record<string, number>;
}

export interface Family {
  readonly type: string;
  readonly help: string;
  readonly series: Series[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

export function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  if (text === undefined || text.trim() === '') return labels;
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const match = LABEL.exec(text);
    if (match === null) throw new Error(`bad labels: {${text}}`);
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    if (match[3] === '') break;
  }
  return labels;
}

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  const value = Number(text);
  if (Number.isNaN(value) && text !== 'NaN') throw new Error(`bad value: ${text}`);
  return value;
}

/** The families of a scrape, by name. */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family & { series: Series[] }>();
  const family = (name: string) => {
    let found = families.get(name);
    if (found === undefined) {
      found = { type: 'untyped', help: '', series: [] };
      families.set(name, found);
    }
    return found;
  };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const meta = /^#\s+(HELP|TYPE)\s+(\S+)\s?(.*)$/.exec(line);
    if (meta !== null) {
      const target = family(meta[2]!);
      if (meta[1] === 'TYPE') Object.assign(target, { type: meta[3]!.trim() });
      else Object.assign(target, { help: meta[3]! });
      continue;
    }
    if (line.startsWith('#')) continue;
    const sample = SAMPLE.exec(line);
    if (sample === null) throw new Error(`bad line: ${line}`);
    const [, name, labelText, valueText] = sample;
    const labels = parseLabels(labelText);
    const value = parseValue(valueText!);
    const histogram = /^(.*)_(bucket|sum|count)$/.exec(name!);
    const parent = histogram === null ? undefined : families.get(histogram[1]!);
    if (parent?.type !== 'histogram') {
      family(name!).series.push({ labels, value });
      continue;
    }
    const { le, ...own } = labels;
    let series = parent.series.find((s) => sameLabels(s.labels, own)) as
      | {
          labels: Record<string, string>;
          value: number;
          count?: number;
          sum?: number;
          buckets: Record<string, number>;
        }
      | undefined;
    if (series === undefined) {
      series = { labels: own, value: Number.NaN, buckets: {} };
      parent.series.push(series);
    }
    if (histogram![2] === 'bucket') series.buckets[le!] = value;
    else if (histogram![2] === 'sum') series.sum = value;
    else {
      series.count = value;
      series.value = value;
    }
  }
  return families;
}

/** A `/metrics` answer, parsed: families by name. */
export class Scrape {
  readonly families: Map<string, Family>;

  constructor(text: string) {
    this.families = parsePrometheusText(text);
  }

  /** Every series of a family, `[]` when it has none. */
  series(name: string): Series[] {
    return this.families.get(name)?.series ?? [];
  }

  /** The value of the one series of `name` whose labels are exactly `labels`; 0 when there is none. */
  value(name: string, labels: Record<string, string> = {}): number {
    const found = this.series(name).filter((series) => sameLabels(series.labels, labels));
    if (found.length > 1) throw new Error(`${name}: ${found.length} series with ${JSON.stringify(labels)}`);
    return found[0]?.value ?? 0;
  }

  /** All series of all tollgate families. */
  get tollgateSeries(): Series[] {
    return [...this.families.entries()]
      .filter(([name]) => name.startsWith('tollgate_'))
      .flatMap(([, family]) => family.series);
  }
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}
