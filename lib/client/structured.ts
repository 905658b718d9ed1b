import { type DraftReading, type PolicyReading, tidy } from './reading.js';

// A tolerant reader of the IETF `RateLimit` and `RateLimit-Policy` fields
// (draft-ietf-httpapi-ratelimit-headers, Structured Field lists per RFC 9651). It reads what it
// can and skips the rest: a malformed member never hides the well-formed ones beside it.

type Bare = string | number | boolean;

interface Member {
  readonly item: Bare | undefined;
  readonly params: ReadonlyMap<string, Bare>;
  /** `key=value` members: the draft-07 dictionary form `limit=100, remaining=50, reset=30`. */
  readonly dictKey?: string;
}

/** At most this many members are read from one field. */
const MAX_MEMBERS = 32;
const MAX_COUNT = 999_999_999_999_999;
const MAX_SECONDS = 400 * 86_400;
const KEY = /^[a-z*][a-z0-9_.*-]{0,63}$/;
const ID = /^[\x21-\x7e]{1,128}$/;

/** Splits on `separator` outside double-quoted strings (honouring `\"` escapes). */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && c === separator) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim());
}

function parseBare(text: string): Bare | undefined {
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"'))
    return text.slice(1, -1).replace(/\\(["\\])/g, '$1');
  if (/^-?\d{1,15}(?:\.\d{1,3})?$/.test(text)) return Number(text);
  if (text === '?1' || text === '?0') return text === '?1';
  if (/^[A-Za-z*][\x21-\x7e]*$/.test(text) && !/[",;=]/.test(text)) return text;
  return undefined;
}

function parseMember(text: string): Member | undefined {
  const [head = '', ...rest] = splitOutsideQuotes(text, ';');
  const params = new Map<string, Bare>();
  for (const param of rest) {
    const eq = param.indexOf('=');
    const key = (eq < 0 ? param : param.slice(0, eq)).trim().toLowerCase();
    if (!KEY.test(key)) continue;
    const value = eq < 0 ? true : parseBare(param.slice(eq + 1).trim());
    if (value !== undefined) params.set(key, value);
  }
  const eq = head.startsWith('"') ? -1 : head.indexOf('=');
  if (eq > 0) {
    const dictKey = head.slice(0, eq).trim().toLowerCase();
    if (!KEY.test(dictKey)) return undefined;
    return { item: parseBare(head.slice(eq + 1).trim()), params, dictKey };
  }
  return { item: parseBare(head), params };
}

function members(field: string | undefined): Member[] {
  if (field === undefined) return [];
  const out: Member[] = [];
  for (const text of splitOutsideQuotes(field, ',').slice(0, MAX_MEMBERS)) {
    const member = parseMember(text);
    if (member !== undefined) out.push(member);
  }
  return out;
}

function count(value: Bare | undefined): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_COUNT
    ? value
    : undefined;
}

function seconds(value: Bare | undefined): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
    ? Math.min(value, MAX_SECONDS)
    : undefined;
}

function idOf(item: Bare | undefined): string | undefined {
  if (typeof item === 'string') return ID.test(item) ? item : undefined;
  return undefined;
}

/** The draft-07 dictionary `RateLimit: limit=100, remaining=50, reset=30`, as one policy. */
function dictionaryForm(list: readonly Member[], now: number): DraftReading | undefined {
  const dict = new Map(list.filter((m) => m.dictKey !== undefined).map((m) => [m.dictKey, m.item]));
  if (!dict.has('limit') && !dict.has('remaining') && !dict.has('reset')) return undefined;
  const reset = seconds(dict.get('reset'));
  return {
    id: 'default',
    limit: count(dict.get('limit')),
    remaining: count(dict.get('remaining')),
    resetAt: reset === undefined ? undefined : now + reset * 1000,
  };
}

/**
 * Policies from `RateLimit` (`"name";r=…;t=…`: remaining quota, seconds to reset) and
 * `RateLimit-Policy` (`"name";q=…;w=…`: quota, window seconds), joined by name.
 */
export function parseRateLimitFields(
  rateLimit: string | undefined,
  policy: string | undefined,
  now: number,
): PolicyReading[] {
  const byId = new Map<string, DraftReading>();
  const entry = (id: string): DraftReading => {
    let draft = byId.get(id);
    if (draft === undefined) {
      draft = { id };
      byId.set(id, draft);
    }
    return draft;
  };
  for (const member of members(policy)) {
    const id = member.dictKey === undefined ? idOf(member.item) : undefined;
    if (id === undefined) continue;
    const draft = entry(id);
    draft.limit = count(member.params.get('q'));
    const window = seconds(member.params.get('w'));
    if (window !== undefined && window > 0) draft.windowMs = window * 1000;
  }
  const current = members(rateLimit);
  const dictionary = dictionaryForm(current, now);
  if (dictionary !== undefined) Object.assign(entry('default'), dictionary);
  for (const member of current) {
    const id = member.dictKey === undefined ? idOf(member.item) : undefined;
    if (id === undefined) continue;
    const draft = entry(id);
    draft.remaining = count(member.params.get('r'));
    const reset = seconds(member.params.get('t'));
    if (reset !== undefined) draft.resetAt = now + reset * 1000;
  }
  return [...byId.values()].map(tidy);
}
