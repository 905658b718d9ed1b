/**
 * "FLUID Network", a payment network API: a tier per endpoint type (requests a minute, an
 * hour, and a burst allowance), a numeric error code per scope, `RateLimit-*` headers reporting
 * the per-minute window with a Unix-seconds reset, and `Retry-After` on 429.
 *
 *   npm run example -- fluid
 *   curl -i localhost:3000/v1/payments -H 'X-Partner-Id: acme' -H 'Content-Type: application/json' \
 *     -d '{"source_account":"acc_1","amount":10,"currency":"EUR"}'
 */
import { randomUUID } from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { createTollgate, HttpError } from '../lib/express/index.js';
import { MemoryStore, scope, serializers, type TierOptions } from '../lib/index.js';
import { closeOnSignals, type ExampleEnv, type ExampleOptions, serve, startedAs } from './support.js';

/**
 * FLUID's tiers. `headerLimit: 'minute'` makes `RateLimit-Limit` say 1000 for a partner although
 * at most 100 requests (the burst) are admitted at once: the headers report the per-minute window.
 */
export const TIERS = {
  paymentProvider: {
    limits: [
      { max: 1000, window: '1m' },
      { max: 60_000, window: '1h' },
    ],
    burst: 100,
    headerLimit: 'minute',
  },
  bank: {
    limits: [
      { max: 200, window: '1m' },
      { max: 12_000, window: '1h' },
    ],
    burst: 50,
    headerLimit: 'minute',
  },
  general: {
    limits: [
      { max: 100, window: '1m' },
      { max: 6000, window: '1h' },
    ],
    burst: 20,
    headerLimit: 'minute',
  },
} satisfies Record<string, TierOptions>;

export function createApp(options: ExampleOptions = {}): Express {
  const now = options.now ?? Date.now;
  // The settings every limit shares, held once: no route can forget the store or the dialect.
  const tollgate = createTollgate({
    headers: 'ratelimit',
    serializer: serializers.fluid,
    store: options.store ?? new MemoryStore({ now }),
    now,
  });

  // Unauthenticated requests: per client IP.
  const general = tollgate.limit({
    scopes: [scope.ip({ code: 1453, message: 'Rate limit exceeded for IP address', ...TIERS.general })],
  });
  // Transaction initiation: per partner, and per paying account with no burst allowance, so
  // that a retry storm on one account cannot slip duplicates through in a burst.
  const payments = tollgate.limit({
    scopes: [
      scope.partner({
        code: 1454,
        message: 'Rate limit exceeded for payment partner',
        onMissing: 'refuse',
        ...TIERS.paymentProvider,
      }),
      scope.payment({
        code: 1456,
        message: 'Rate limit exceeded for payment processing',
        limits: [{ max: 1000, window: '1m' }],
      }),
    ],
  });
  // Transaction queries and reports: per bank account.
  const banks = tollgate.limit({
    scopes: [scope.bank({ code: 1455, message: 'Rate limit exceeded for bank account', ...TIERS.bank })],
  });

  const app = express();
  app.set('trust proxy', 1);
  app.disable('x-powered-by');

  app.get('/v1/status', general, (_req, res) => {
    res.json({ status: 'operational', time: new Date(now()).toISOString() });
  });

  // The body is parsed first: the payment-processing scope is keyed on its `source_account`.
  app.post('/v1/payments', requirePartner, express.json(), payments, (req, res) => {
    const payment = validPayment(req.body);
    res.status(201).json({
      id: `pay_${randomUUID()}`,
      status: 'accepted',
      partner_id: req.get('x-partner-id'),
      ...payment,
    });
  });

  app.get('/v1/banks/:bankId/transactions', banks, (req, res) => {
    res.json({ bank_id: req.params.bankId, transactions: [] });
  });

  // Webhook delivery is unlimited: no limiter, no headers.
  app.post('/v1/webhooks/deliveries', express.json(), (_req, res) => {
    res.status(202).json({ accepted: true });
  });

  app.use(tollgate.notFound());
  app.use(tollgate.errorHandler());
  return app;
}

function requirePartner(req: Request, _res: Response, next: NextFunction): void {
  if (req.get('x-partner-id')?.trim()) {
    next();
    return;
  }
  next(new HttpError(401, 'Missing X-Partner-Id header: payment endpoints need a partner account'));
}

interface Payment {
  source_account: string;
  amount: number;
  currency: string;
}

function validPayment(body: unknown): Payment {
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const invalid = (field: string, rule: string) =>
    new HttpError(400, `Invalid payment: ${field} ${rule}`, { details: { field } });
  if (typeof fields.source_account !== 'string' || fields.source_account === '')
    throw invalid('source_account', 'must be a non-empty string');
  if (typeof fields.amount !== 'number' || !(fields.amount > 0))
    throw invalid('amount', 'must be a positive number');
  if (typeof fields.currency !== 'string' || !/^[A-Z]{3}$/.test(fields.currency))
    throw invalid('currency', 'must be an ISO 4217 code such as "EUR"');
  return { source_account: fields.source_account, amount: fields.amount, currency: fields.currency };
}

export async function main(env: ExampleEnv = process.env) {
  return serve('fluid', createApp, env);
}

if (startedAs('fluid')) void main().then(closeOnSignals);
