import type { Server } from 'node:http';
import { Ajv, type ValidateFunction } from 'ajv';
import type { Express } from 'express';
import request, { type Response } from 'supertest';
import type { Serializer } from '../../lib/serializers/index.js';

const ajv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true });
const validators = new Map<Serializer['schema'], ValidateFunction>();

/** Asserts that `body` satisfies the JSON Schema the serializer exports, naming every violation. */
export function expectMatchesSchema(serializer: Serializer, body: unknown): void {
  const schema = serializer.schema;
  if (schema === undefined) throw new Error(`serializer ${serializer.name} exports no schema`);
  let validate = validators.get(schema);
  if (validate === undefined) {
    validate = ajv.compile(schema);
    validators.set(schema, validate);
  }
  if (!validate(body)) {
    throw new Error(
      `body does not match the ${serializer.name} schema: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`,
    );
  }
}

type Headers = Record<string, string>;

/**
 * An example app listening on an ephemeral port. Every error answer it gives (status 400 or
 * above) is checked on the way: a JSON body of the serializer's content type, matching its
 * exported schema, with an `X-Request-Id` header.
 */
export interface ExampleClient {
  get(path: string, headers?: Headers): Promise<Response>;
  /** A JSON body is sent as JSON; a string is sent as it is, as `application/json` (to send malformed JSON). */
  post(path: string, body?: unknown, headers?: Headers): Promise<Response>;
  /** How many error bodies were checked against the schema. */
  readonly checked: number;
  close(): Promise<void>;
}

export async function startExample(app: Express, serializer: Serializer): Promise<ExampleClient> {
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, () => resolve(listening));
  });
  let checked = 0;
  const check = (res: Response): Response => {
    if (res.status >= 400) {
      expect(res.headers['content-type']).toBe(serializer.contentType);
      expect(res.headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
      expectMatchesSchema(serializer, res.body);
      checked++;
    }
    return res;
  };
  return {
    async get(path, headers = {}) {
      return check(await request(server).get(path).set(headers));
    },
    async post(path, body, headers = {}) {
      const test = request(server).post(path).set(headers);
      if (body === undefined) return check(await test);
      if (typeof body === 'string')
        return check(await test.set('Content-Type', 'application/json').send(body));
      return check(await test.send(body as object));
    },
    get checked() {
      return checked;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Sends `count` requests one after another (a counter's order matters) and returns every answer. */
export async function repeat(count: number, send: (i: number) => Promise<Response>): Promise<Response[]> {
  const answers: Response[] = [];
  for (let i = 0; i < count; i++) answers.push(await send(i));
  return answers;
}

export const bearer = (token: string): Headers => ({ Authorization: `Bearer ${token}` });

/** A generated request id: `req_` and a ULID. */
export const GENERATED_ID = /^req_[0-9A-HJKMNP-TV-Z]{26}$/;

/** Sends `count` requests, `width` at a time, where their order does not matter: only their number. */
export async function flood(
  count: number,
  send: (i: number) => Promise<Response>,
  width = 25,
): Promise<Response[]> {
  const answers: Response[] = [];
  for (let start = 0; start < count; start += width) {
    const batch = Array.from({ length: Math.min(width, count - start) }, (_, j) => send(start + j));
    answers.push(...(await Promise.all(batch)));
  }
  return answers;
}
