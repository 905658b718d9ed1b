/** `warning` above 80 % utilisation, `high` above 90 % or on a 429, `critical` for the rate-limited share or a recurring error code. */
export type AlertLevel = 'warning' | 'high' | 'critical';

export type AlertEvent =
  | { kind: 'utilisation'; level: 'warning' | 'high'; policy: string; utilisation: number; threshold: number }
  | { kind: 'rate_limited'; level: 'high'; status: 429; reason: string | undefined; url: string }
  | { kind: 'rate_limited_share'; level: 'critical'; share: number; threshold: number; requests: number }
  | { kind: 'error_code'; level: 'critical'; code: string; count: number; threshold: number };

export interface RetryEvent {
  url: string;
  method: string;
  /** The attempt that failed, from 1. */
  attempt: number;
  status: number | undefined;
  /** What the client waits before the next attempt. */
  waitMs: number;
  /** What the server asked for, when it sent `Retry-After`. */
  retryAfterMs: number | undefined;
}

export interface ThrottleEvent {
  bucket: string;
  /** How long the queue holds its next request. */
  waitMs: number;
}

export interface ClientEvents {
  alert: AlertEvent;
  retry: RetryEvent;
  throttle: ThrottleEvent;
}

export type Listener<T> = (event: T) => void;

/** A minimal emitter (no `EventTarget`/`node:events`, so it runs anywhere). Listeners' exceptions are ignored. */
export class Emitter {
  private readonly listeners = new Map<keyof ClientEvents, Set<Listener<never>>>();

  on<K extends keyof ClientEvents>(name: K, listener: Listener<ClientEvents[K]>): () => void {
    let set = this.listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener as Listener<never>);
    return () => {
      set.delete(listener as Listener<never>);
    };
  }

  emit<K extends keyof ClientEvents>(name: K, event: ClientEvents[K]): void {
    const set = this.listeners.get(name);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<ClientEvents[K]>)(event);
      } catch {
        // A broken listener must not break the request it observes.
      }
    }
  }
}
