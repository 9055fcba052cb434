// HTTP basic auth against the bcrypt hashes of the web config's basic_auth_users.
//
// A bcrypt check costs ~50-100 ms of CPU at the usual cost 10, and Prometheus scrapes every few
// seconds with the same credentials, so successful checks are remembered (exporter-toolkit caches
// too). The cache key is a SHA-256 of (user, password, hash): the password itself is never kept,
// and a changed hash never matches an old entry.
//
// Timing: bcryptjs compares the computed hash in constant time, and an unknown user still pays a
// full bcrypt compare, so response time does not tell which user names exist. A cache hit is
// fast, but only a caller who already sent the right password can cause one.

import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';

/** Enough for every user/password pair a handful of scrapers use; oldest forgotten first. */
const CACHE_SIZE = 100;

export type Compare = (password: string, hash: string) => Promise<boolean>;

export class BasicAuth {
  /** Keys of verified (user, password, hash); a Set keeps insertion order for eviction. */
  private readonly verified = new Set<string>();
  /** Compared against for unknown users. A configured hash has exactly the configured cost. */
  private readonly dummyHash: string;

  /** `compare` is replaceable so tests can count bcrypt runs. */
  constructor(
    private readonly users: Map<string, string>,
    private readonly compare: Compare = (p, h) => bcrypt.compare(p, h),
  ) {
    const first = users.values().next();
    if (first.done) throw new Error('BasicAuth needs at least one user');
    this.dummyHash = first.value;
  }

  /** True when the Authorization header carries valid credentials. */
  async check(authorization: string | undefined): Promise<boolean> {
    const creds = parseBasic(authorization);
    if (!creds) return false;
    const known = this.users.get(creds.user);
    const hash = known ?? this.dummyHash;
    const key = createHash('sha256').update(JSON.stringify([creds.user, creds.password, hash])).digest('hex');
    if (known !== undefined && this.verified.has(key)) return true;

    const ok = await this.compare(creds.password, hash);
    // An unknown user who happens to send the dummy hash's password still fails here.
    if (!ok || known === undefined) return false;
    this.verified.add(key);
    if (this.verified.size > CACHE_SIZE) this.verified.delete(this.verified.values().next().value!);
    return true;
  }
}

/** `Basic base64(user:password)`; the scheme is case-insensitive and the password may hold ':'. */
export function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
