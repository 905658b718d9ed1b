/** What a response's headers say about one policy. Times are absolute, in ms on the client's clock. */
export interface PolicyReading {
  /** The policy's name: the IETF item's key, or `default` for the single-policy headers. */
  readonly id: string;
  readonly limit?: number;
  readonly remaining?: number;
  readonly resetAt?: number;
  readonly windowMs?: number;
}

/** A reading in the making: any member may be missing. */
export interface DraftReading {
  id: string;
  limit?: number | undefined;
  remaining?: number | undefined;
  resetAt?: number | undefined;
  windowMs?: number | undefined;
}

/** Drops undefined members and keeps `remaining` within `limit`. */
export function tidy(draft: DraftReading): PolicyReading {
  const out: { -readonly [K in keyof PolicyReading]: PolicyReading[K] } = { id: draft.id };
  if (draft.limit !== undefined) out.limit = draft.limit;
  if (draft.remaining !== undefined)
    out.remaining = draft.limit === undefined ? draft.remaining : Math.min(draft.remaining, draft.limit);
  if (draft.resetAt !== undefined) out.resetAt = draft.resetAt;
  if (draft.windowMs !== undefined) out.windowMs = draft.windowMs;
  return out;
}
