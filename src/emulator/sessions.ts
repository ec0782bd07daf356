// Stateful sessions (X-Amzn-SageMaker-Session-Id). A session belongs to one
// endpoint and pins requests to the variant that opened it.
import { randomUUID } from 'node:crypto';

export interface Session {
  id: string;
  endpoint: string;
  variant: string;
  expiresAtMs: number;
}

export const NEW_SESSION = 'NEW_SESSION';

/** `YYYY-MM-DDTHH:MM:SSZ`, the Expires format of X-Amzn-SageMaker-New-Session-Id. */
export const formatExpires = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** True when the body is the close-session request `{"closeSession":true}`. */
export function isCloseSessionBody(body: Buffer): boolean {
  if (body.length > 64 || body.indexOf('closeSession') === -1) return false;
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    return typeof v === 'object' && v !== null && Object.keys(v).length === 1 && (v as Record<string, unknown>).closeSession === true;
  } catch {
    return false;
  }
}

export class SessionStore {
  readonly #sessions = new Map<string, Session>();

  open(endpoint: string, variant: string, now: number, ttlSeconds: number): Session {
    const s: Session = { id: randomUUID(), endpoint, variant, expiresAtMs: now + ttlSeconds * 1000 };
    this.#sessions.set(s.id, s);
    return s;
  }

  /** The live session with this id on this endpoint, if any. */
  get(id: string, endpoint: string, now: number): Session | undefined {
    const s = this.#sessions.get(id);
    if (!s) return undefined;
    if (s.expiresAtMs <= now) {
      this.#sessions.delete(id);
      return undefined;
    }
    return s.endpoint === endpoint ? s : undefined;
  }

  close(id: string): void {
    this.#sessions.delete(id);
  }

  clear(): void {
    this.#sessions.clear();
  }
}
