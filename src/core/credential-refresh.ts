// Temporary credentials that the service calls expired are fetched again once per expired key,
// shared by every record that was signed with it; each such record is tried again once.
import type { HttpRequestSpec } from '../wire.js';

export class CredentialRefresh {
  /** A refresh under way, shared by every record that saw ExpiredToken meanwhile. */
  #refreshing: Promise<void> | undefined;
  /** Access keys the service called expired and that a refresh has already replaced. */
  readonly #expired = new Set<string>();

  constructor(private readonly refresh: (() => Promise<void>) | undefined) {}

  get available(): boolean {
    return this.refresh !== undefined;
  }

  /** Refreshes unless the key `signed` used was refreshed already; resolves when new credentials are in. */
  async after(signed: HttpRequestSpec): Promise<void> {
    const key = accessKeyOf(signed);
    if (this.refresh !== undefined && !this.#expired.has(key)) {
      this.#expired.add(key);
      this.#refreshing ??= this.refresh().finally(() => {
        this.#refreshing = undefined;
      });
    }
    await this.#refreshing?.catch(() => undefined);
  }
}

/** The access key id in a signed request's Authorization header. */
function accessKeyOf(signed: HttpRequestSpec): string {
  return /Credential=([^/,\s]+)\//.exec(signed.headers.authorization ?? '')?.[1] ?? '';
}
