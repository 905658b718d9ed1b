import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { TollgateConfigError } from '../errors/errors.js';

/**
 * A JSON Schema as tollgate writes them: draft-07 plus two keywords of its own.
 * - `expected`: the words that finish "<path> must be …" when the node fails.
 * - `typeofFunction: true`: the value must be a function (JSON Schema has no such type).
 * - `methods: [...]`: the value must be an object with these function members (a `Store`).
 */
export type JsonSchema = Record<string, unknown>;

// strictRequired is off: the top-level anyOf requires properties declared beside it, not inside it.
const ajv = new Ajv({
  allErrors: false,
  verbose: true,
  strict: true,
  strictRequired: false,
  allowUnionTypes: true,
});
ajv.addKeyword({ keyword: 'expected', schemaType: 'string' });
ajv.addKeyword({
  keyword: 'typeofFunction',
  schemaType: 'boolean',
  validate: (wanted: boolean, data: unknown) => (typeof data === 'function') === wanted,
});
ajv.addKeyword({
  keyword: 'methods',
  schemaType: 'array',
  validate: (names: string[], data: unknown) =>
    typeof data === 'object' &&
    data !== null &&
    names.every((name) => typeof (data as Record<string, unknown>)[name] === 'function'),
});

const compiled = new WeakMap<JsonSchema, ValidateFunction>();

/**
 * Validates options against their schema and throws a `TollgateConfigError` naming the first
 * offending option's path (`scopes[1].limits[0].max must be a positive integer`).
 */
export function validateOptions(schema: JsonSchema, options: unknown, what: string): void {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (validate(options)) return;
  const error = mostTelling(validate.errors ?? []);
  if (error === undefined)
    throw new TollgateConfigError('ERR_TOLLGATE_INVALID_OPTION', '', `${what} are invalid`);
  const { path, message } = describeError(error);
  throw new TollgateConfigError('ERR_TOLLGATE_INVALID_OPTION', path, `${what}: ${message}`);
}

/**
 * An anyOf reports each branch's failure and then its own. A branch that failed deeper inside
 * the value (a tier object with a bad `max`) was the form the user meant: report that. When
 * every branch failed at the value itself, the anyOf's own `expected` words list every form.
 */
function mostTelling(errors: readonly ErrorObject[]): ErrorObject | undefined {
  const anyOf = errors.findLast((e) => e.keyword === 'anyOf');
  if (anyOf === undefined) return errors[0];
  let deepest: ErrorObject | undefined;
  for (const e of errors) {
    if (
      e.instancePath.startsWith(`${anyOf.instancePath}/`) &&
      (deepest === undefined || e.instancePath.length > deepest.instancePath.length)
    )
      deepest = e;
  }
  return deepest ?? anyOf;
}

/** `/scopes/1/limits/0/max` → `scopes[1].limits[0].max`. */
export function formatPath(instancePath: string, child?: string): string {
  const segments = instancePath.split('/').slice(1);
  if (child !== undefined) segments.push(child);
  let path = '';
  for (const raw of segments) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(segment)) path += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) path += path === '' ? segment : `.${segment}`;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path;
}

function describeError(error: ErrorObject): { path: string; message: string } {
  if (error.keyword === 'additionalProperties') {
    const name = (error.params as { additionalProperty: string }).additionalProperty;
    const path = formatPath(error.instancePath, name);
    return { path, message: `${path} is not a known option` };
  }
  if (error.keyword === 'required') {
    const name = (error.params as { missingProperty: string }).missingProperty;
    const path = formatPath(error.instancePath, name);
    return { path, message: `${path} is required` };
  }
  const path = formatPath(error.instancePath);
  const expected = (error.parentSchema as { expected?: string } | undefined)?.expected;
  const subject = path === '' ? 'options' : path;
  return { path, message: `${subject} must be ${expected ?? error.message ?? 'valid'}` };
}
