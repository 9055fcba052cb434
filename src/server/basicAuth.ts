// HTTP basic auth against the bcrypt hashes of the web config's basic_auth_users.
//
// A bcrypt check costs ~50-200 ms of CPU at the usual cost 10, and Prometheus scrapes every few
// seconds with the same credentials, so successful checks are remembered (exporter-toolkit caches
// too). The cache key is a SHA-256 of (user, password, hash): the password itself is never kept,
// and a changed hash never matches an old entry. Cache hits are answered here, on the event loop,
// and never wait for a bcrypt check.
//
// Checks that miss the cache (wrong passwords, a scraper's first scrape) run through `compare`
// (WebServer's: BcryptPool, off the event loop), at most MAX_RUNNING at a time with at most
// MAX_WAITING waiting. Beyond that the answer is 'busy' at once (WebServer: 429): a flood of wrong
// passwords then costs a bounded amount of CPU and memory, and cannot delay a verified scraper.
//
// Timing: bcryptjs compares the computed hash in constant time, and an unknown user still pays a
// full bcrypt compare, so response time does not tell which user names exist. A cache hit is
// fast, but only a caller who already sent the right password can cause one.

import { cryptoModule } from '../util/lazyBuiltins.js';

/** Enough for every user/password pair a handful of scrapers use; oldest forgotten first. */
const CACHE_SIZE = 100;
/** Compares in flight: keeps two workers fed without queueing much behind them. */
const MAX_RUNNING = 4;
/** Checks waiting for a place: a burst of honest first scrapes fits, a flood does not. */
const MAX_WAITING = 16;
/**
 * Of those, at most this many from one client address: one flooding address cannot fill the
 * queue, so a scraper elsewhere that is not verified yet (after a restart) still gets a place.
 */
const MAX_WAITING_PER_CLIENT = 4;

export type Compare = (password: string, hash: string) => Promise<boolean>;

/** ok: valid credentials; denied: missing or wrong; busy: too many checks under way, not checked. */
export type AuthResult = 'ok' | 'denied' | 'busy';

export class BasicAuth {
  /** Keys of verified (user, password, hash); a Set keeps insertion order for eviction. */
  private readonly verified = new Set<string>();
  /** Compared against for unknown users. A configured hash has exactly the configured cost. */
  private readonly dummyHash: string;
  private running = 0;
  /** Checks waiting for a place, oldest first; each is handed one when a compare ends. */
  private readonly waiting: { client: string; resume: () => void }[] = [];
  private readonly waitingByClient = new Map<string, number>();
  /** Answers other than 'ok' since start, for the exporter's health metrics. */
  readonly failures = { denied: 0, busy: 0 };

  /** `compare` does the bcrypt work (BcryptPool in WebServer; tests count or hold its calls). */
  constructor(
    private readonly users: Map<string, string>,
    private readonly compare: Compare,
  ) {
    const first = users.values().next();
    if (first.done) throw new Error('BasicAuth needs at least one user');
    this.dummyHash = first.value;
  }

  /** Checks the Authorization header's credentials; `client` (its address) bounds its share of the queue. */
  async check(authorization: string | undefined, client = ''): Promise<AuthResult> {
    const result = await this.verify(authorization, client);
    if (result !== 'ok') this.failures[result]++;
    return result;
  }

  private async verify(authorization: string | undefined, client: string): Promise<AuthResult> {
    const creds = parseBasic(authorization);
    if (!creds) return 'denied';
    const known = this.users.get(creds.user);
    const hash = known ?? this.dummyHash;
    const key = cryptoModule()
      .createHash('sha256')
      .update(JSON.stringify([creds.user, creds.password, hash]))
      .digest('hex');
    if (known !== undefined && this.verified.has(key)) return 'ok';

    if (!(await this.enter(client))) return 'busy';
    let ok = false;
    try {
      // A twin request (a scraper's retry) may have been verified while this one waited.
      if (known !== undefined && this.verified.has(key)) return 'ok';
      ok = await this.compare(creds.password, hash);
    } catch {
      ok = false; // A compare that fails is a denial: fail closed.
    } finally {
      this.leave();
    }
    // An unknown user who happens to send the dummy hash's password still fails here.
    if (!ok || known === undefined) return 'denied';
    this.verified.add(key);
    if (this.verified.size > CACHE_SIZE) {
      const oldest = this.verified.values().next();
      if (!oldest.done) this.verified.delete(oldest.value);
    }
    return 'ok';
  }

  /** Takes a place to compare, waiting for one if needed; false when too many already wait. */
  private async enter(client: string): Promise<boolean> {
    if (this.running < MAX_RUNNING) {
      this.running++;
      return true;
    }
    const mine = this.waitingByClient.get(client) ?? 0;
    if (this.waiting.length >= MAX_WAITING || mine >= MAX_WAITING_PER_CLIENT) return false;
    this.waitingByClient.set(client, mine + 1);
    await new Promise<void>((resume) => this.waiting.push({ client, resume }));
    return true; // the place of the compare that ended, handed over by leave()
  }

  private leave(): void {
    const next = this.waiting.shift();
    if (!next) {
      this.running--;
      return;
    }
    const n = (this.waitingByClient.get(next.client) ?? 1) - 1;
    if (n > 0) this.waitingByClient.set(next.client, n);
    else this.waitingByClient.delete(next.client);
    next.resume();
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
