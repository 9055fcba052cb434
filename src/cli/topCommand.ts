// `kepler-ts top [flags]`: a live terminal view of any Kepler-compatible endpoint (kepler-ts, or
// Kepler itself), or with --once one table for scripts. The flags are read here; the scrape, the
// reading, the table and the terminal are in src/top/.
// Exit codes: 0 done, 1 the endpoint cannot be reached, refuses us, or is not a Kepler exporter
// (one line on stderr), 2 a bad flag or --http.config-file (one line naming it).

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatDuration, parseDuration } from '../config/duration.js';
import { hideUrlCredentials } from '../config/hideCredentials.js';
import { HttpConfigError, loadHttpConfig } from '../top/httpConfig.js';
import { CounterHistory, LEVELS, readReading, type Level, type Scrape } from '../top/reading.js';
import { checkTlsMaterial, ScrapeError, scrapeKepler, type Credentials, type Target } from '../top/scrape.js';
import { renderScreen, SORT_KEYS, type SortKey } from '../top/table.js';
import { FAST_POLL_BUDGET_MS, FAST_POLL_MS, runTerminal } from '../top/terminal.js';

export const DEFAULT_URL = 'http://localhost:28282/metrics';
const DEFAULT_INTERVAL_MS = 2000;
const DEFAULT_TIMEOUT_MS = 10_000;
export const PASSWORD_ENV = 'KEPLER_TOP_PASSWORD';

export function topUsage(): string {
  return [
    'Usage: kepler-ts top [flags]',
    '',
    "A live view of a Kepler exporter's power (kepler-ts, or Kepler itself) by process, container, pod or VM.",
    '',
    'Flags:',
    `  --url URL                   the metrics endpoint (default ${DEFAULT_URL}); HOST:PORT means http://HOST:PORT/metrics`,
    '  --level LEVEL               process, container, pod or vm (default container)',
    '  --sort KEY                  watts, energy or name (default watts)',
    `  --interval DURATION         time between scrapes, e.g. 2s, 500ms (default ${formatDuration(DEFAULT_INTERVAL_MS)})`,
    '  --once                      print one table and exit (what top does when stdout is not a terminal)',
    '  --top N                     show at most N rows',
    `  --timeout DURATION          give up on a scrape after this long (default ${formatDuration(DEFAULT_TIMEOUT_MS)})`,
    `  --user NAME[:PASSWORD]      basic auth; without :PASSWORD, the password is read from $${PASSWORD_ENV}`,
    "  --http.config-file FILE     Prometheus's HTTP client config: basic_auth, authorization, tls_config",
    '  --tls.ca-file FILE          CA certificates (PEM) to trust the server with',
    '  --tls.cert-file FILE        client certificate (PEM), with --tls.key-file',
    '  --tls.key-file FILE         client key (PEM)',
    '  --tls.server-name NAME      the name the server certificate must have (default: the URL host)',
    "  --tls.insecure-skip-verify  do not verify the server's certificate",
    '  -h, --help                  print this help',
    '',
    'Keys (when stdin is a terminal): p processes, c containers, k pods, v VMs, Tab next level, s next sort,',
    'q or Ctrl-C quit.',
    '',
    'Watts come from the _watts gauges. Where an exporter has only _joules_total counters, they are the',
    'energy over at least 10s of scrapes (--once watches the counters for up to 15s and says so on stderr).',
    "A workload's WATTS adds its headline zones (package and dram) and GPUs. Against kepler-ts, an",
    '(unattributed) line shows the power no workload of the level explains; it comes from counters, so',
    'from the second refresh the live view sees, and not with --once (unless --once waits for counters).',
    '',
  ].join('\n');
}

export interface TopOptions {
  target: Target;
  level: Level;
  sort: SortKey;
  intervalMs: number;
  once: boolean;
  top?: number;
}

export class TopUsageError extends Error {
  override readonly name = 'TopUsageError';
}

const LEVEL_NAMES: Record<string, Level> = {
  process: 'process',
  processes: 'process',
  container: 'container',
  containers: 'container',
  pod: 'pod',
  pods: 'pod',
  vm: 'vm',
  vms: 'vm',
};

/** `arg` for a message: the user:password of a URL hidden, with or without its scheme. */
function hideCredentials(arg: string): string {
  const hidden = hideUrlCredentials(arg);
  return hidden.includes('://') ? hidden : hidden.replace(/^[^/?#\s]*@/, '***@');
}

/** `--url`: a URL, or HOST[:PORT] (Kepler's port 28282 when none); an empty path is /metrics; user:password in it is basic auth. */
export function parseTopUrl(raw: string): { url: URL; credentials?: Credentials } {
  const bad = (why: string) => new TopUsageError(`--url ${JSON.stringify(hideCredentials(raw))}: ${why}`);
  const text = raw.trim();
  if (text === '') throw bad('expected a URL or HOST:PORT');
  const hasScheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text);
  let url: URL;
  try {
    url = new URL(hasScheme ? text : `http://${text}`);
  } catch {
    throw bad('expected a URL like http://HOST:28282/metrics, or HOST:PORT');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad(`scheme ${url.protocol.slice(0, -1)} is not http or https`);
  if (url.hostname === '') throw bad('a host is required');
  if (!hasScheme && url.port === '') url.port = '28282';
  if (url.pathname === '/') url.pathname = '/metrics';
  let credentials: Credentials | undefined;
  if (url.username !== '' || url.password !== '') {
    try {
      credentials = { kind: 'basic', username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
    } catch {
      throw bad('the user name or password is not valid percent-encoding (write % as %25)');
    }
    url.username = '';
    url.password = '';
  }
  return { url, ...(credentials ? { credentials } : {}) };
}

const orList = (xs: readonly string[]): string => `${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}`;

/** parseArgs's error as one line that names the flag: "--foo: unknown flag", "--url: expected a value". */
function argsProblem(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const flag = /'(-[^' ]+)/.exec(e.message)?.[1] ?? '';
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `${flag}: unknown flag (see kepler-ts top --help)`;
  if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    // A URL without --url: its password must not be quoted.
    const arg = hideCredentials(/'([^']*)'/.exec(e.message)?.[1] ?? '');
    return `unexpected argument ${arg}: top takes only flags (see kepler-ts top --help)${/^[a-z]+:\/\//i.test(arg) ? '; give the URL with --url' : ''}`;
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (/argument missing/.test(e.message)) return `${flag}: expected a value (see kepler-ts top --help)`;
    if (/ambiguous/.test(e.message)) return `${flag}: a value that starts with - is written ${flag}=VALUE`;
    return `${flag}: takes no value (see kepler-ts top --help)`;
  }
  return `${e.message} (see kepler-ts top --help)`;
}

function duration(flag: string, text: string, minMs: number): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    throw new TopUsageError(`${flag} ${JSON.stringify(text)}: expected a duration like 2s or 500ms`);
  }
  if (ms < minMs) throw new TopUsageError(`${flag} ${JSON.stringify(text)}: expected at least ${formatDuration(minMs)}`);
  return ms;
}

/** Reads a PEM file a flag names; `readFile` returns its text or throws. */
function pemFile(flag: string, path: string, readFile: (p: string) => string): string {
  try {
    return readFile(path);
  } catch (err) {
    throw new TopUsageError(`${flag} ${path}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/**
 * The flags of `kepler-ts top`; `help` for -h. Flags win over --http.config-file, which wins over
 * credentials in the URL. Throws TopUsageError (a flag, its value, what is expected) or
 * HttpConfigError (the file and its key).
 */
export function parseTopArgs(argv: string[], env: NodeJS.ProcessEnv, readFile: (path: string) => string): TopOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        url: { type: 'string' },
        level: { type: 'string' },
        sort: { type: 'string' },
        interval: { type: 'string' },
        once: { type: 'boolean' },
        top: { type: 'string' },
        timeout: { type: 'string' },
        user: { type: 'string' },
        'http.config-file': { type: 'string' },
        'tls.ca-file': { type: 'string' },
        'tls.cert-file': { type: 'string' },
        'tls.key-file': { type: 'string' },
        'tls.server-name': { type: 'string' },
        'tls.insecure-skip-verify': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new TopUsageError(argsProblem(err));
  }
  if (values.help) return 'help';
  const str = (k: string): string | undefined => values[k] as string | undefined;

  const levelText = str('level') ?? 'container';
  const level = LEVEL_NAMES[levelText.toLowerCase()];
  if (!level) throw new TopUsageError(`--level ${JSON.stringify(levelText)}: expected ${orList(LEVELS)}`);
  const sortText = str('sort') ?? 'watts';
  if (!(SORT_KEYS as readonly string[]).includes(sortText)) throw new TopUsageError(`--sort ${JSON.stringify(sortText)}: expected ${orList(SORT_KEYS)}`);
  const intervalMs = duration('--interval', str('interval') ?? formatDuration(DEFAULT_INTERVAL_MS), 100);
  const timeoutMs = duration('--timeout', str('timeout') ?? formatDuration(DEFAULT_TIMEOUT_MS), 10);
  let top: number | undefined;
  if (str('top') !== undefined) {
    top = Number(str('top'));
    if (!Number.isInteger(top) || top < 1) throw new TopUsageError(`--top ${JSON.stringify(str('top'))}: expected a whole number of rows, 1 or more`);
  }

  const { url, credentials: fromUrl } = parseTopUrl(str('url') ?? DEFAULT_URL);
  const file = str('http.config-file');
  const fromFile = file === undefined ? { tls: {} } : loadHttpConfig(file, readFile);
  let credentials = fromFile.credentials ?? fromUrl;
  const user = str('user');
  if (user !== undefined) {
    const colon = user.indexOf(':');
    const username = colon < 0 ? user : user.slice(0, colon);
    if (username === '') throw new TopUsageError('--user: expected NAME or NAME:PASSWORD');
    const password = colon < 0 ? env[PASSWORD_ENV] : user.slice(colon + 1);
    if (password === undefined) throw new TopUsageError(`--user ${username}: no password: set $${PASSWORD_ENV} (it stays out of ps), or write --user ${username}:PASSWORD`);
    credentials = { kind: 'basic', username, password };
  }
  const caFile = str('tls.ca-file');
  const certFile = str('tls.cert-file');
  const keyFile = str('tls.key-file');
  if ((certFile === undefined) !== (keyFile === undefined)) throw new TopUsageError('--tls.cert-file and --tls.key-file: a client certificate needs both');
  const serverName = str('tls.server-name');
  const tls = {
    ...fromFile.tls,
    ...(caFile === undefined ? {} : { ca: pemFile('--tls.ca-file', caFile, readFile) }),
    ...(certFile === undefined ? {} : { cert: pemFile('--tls.cert-file', certFile, readFile) }),
    ...(keyFile === undefined ? {} : { key: pemFile('--tls.key-file', keyFile, readFile) }),
    ...(serverName ? { serverName } : {}),
    insecureSkipVerify: values['tls.insecure-skip-verify'] === true || fromFile.tls.insecureSkipVerify === true,
  };
  // Checked now, so that a key that is not the certificate's is one line naming the flag, not a failed scrape.
  const bad = checkTlsMaterial({
    ca: caFile === undefined ? undefined : tls.ca,
    cert: certFile === undefined ? undefined : tls.cert,
    key: keyFile === undefined ? undefined : tls.key,
  });
  if (bad) {
    const files = { ca: ['--tls.ca-file', caFile], cert: ['--tls.cert-file', certFile], key: ['--tls.key-file', keyFile] } as const;
    const [flag, path] = files[bad.field];
    throw new TopUsageError(`${flag} ${path ?? ''}: ${bad.problem}`);
  }
  return {
    target: { url, timeoutMs, tls, ...(credentials ? { credentials } : {}) },
    level,
    sort: sortText as SortKey,
    intervalMs,
    once: values.once === true,
    ...(top === undefined ? {} : { top }),
  };
}

/** What the command touches besides the network; the live view uses process.stdin and process.stdout. */
export interface TopIo {
  stdout: { write: (text: string) => unknown; isTTY?: boolean; columns?: number };
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  readFile: (path: string) => string;
  sleep: (ms: number) => Promise<void>;
  /** ms since the epoch. */
  now: () => number;
}

export function nodeTopIo(): TopIo {
  return {
    stdout: process.stdout,
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    readFile: (p) => readFileSync(p, 'utf8'),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    now: Date.now,
  };
}

/** "…" where the terminal speaks UTF-8 (as the locale says), "~" where it may not. */
function ellipsisFor(env: NodeJS.ProcessEnv): string {
  return /utf-?8/i.test(env.LC_ALL || env.LC_CTYPE || env.LANG || '') ? '…' : '~';
}

export async function runTopCommand(argv: string[], io: TopIo = nodeTopIo()): Promise<number> {
  let opts: TopOptions | 'help';
  try {
    opts = parseTopArgs(argv, io.env, io.readFile);
  } catch (err) {
    if (err instanceof TopUsageError || err instanceof HttpConfigError) {
      io.stderr(`kepler-ts top: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (opts === 'help') {
    io.stdout.write(topUsage());
    return 0;
  }
  const target = opts.target;
  const scrape = () => scrapeKepler(target, io.now);
  let first: Scrape;
  try {
    first = await scrape();
  } catch (err) {
    if (err instanceof ScrapeError) {
      io.stderr(`kepler-ts top: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const view = { level: opts.level, sort: opts.sort };
  const ellipsis = ellipsisFor(io.env);
  const interactive = !opts.once && io.stdout.isTTY === true;
  if (interactive) {
    return runTerminal({ first, scrape, view, intervalMs: opts.intervalMs, top: opts.top, ellipsis, stdin: process.stdin, stdout: process.stdout });
  }

  const history = new CounterHistory(first);
  let reading = readReading(first);
  if (reading.waiting) {
    // Only energy counters: watts need the time between two of their changes (one where the
    // exporter says when it refreshed). The exporter refreshes on its own interval: scraped
    // often, each change is timed within a fraction of a second.
    const budget = formatDuration(FAST_POLL_BUDGET_MS);
    io.stderr(`kepler-ts top: ${target.url.href} exports energy counters but no watts: watching them for up to ${budget} to compute them\n`);
    const deadline = io.now() + FAST_POLL_BUDGET_MS;
    while (history.base() === undefined && io.now() < deadline) {
      await io.sleep(Math.min(FAST_POLL_MS, opts.intervalMs));
      try {
        history.observe(await scrape());
      } catch (err) {
        if (err instanceof ScrapeError) {
          io.stderr(`kepler-ts top: ${err.message}\n`);
          return 1;
        }
        throw err;
      }
    }
    if (history.base() === undefined) io.stderr(`kepler-ts top: the energy counters did not move enough in ${budget} to time them: no watts to show\n`);
    reading = readReading(history.latest, history.base());
  }
  // A terminal's width when there is one; else COLUMNS when set; else no limit: a script gets every name whole.
  const columns = Number(io.env.COLUMNS);
  const width = io.stdout.isTTY && io.stdout.columns ? io.stdout.columns : Number.isInteger(columns) && columns > 0 ? columns : Infinity;
  const lines = renderScreen(reading, view, { width, top: opts.top, keys: false, ellipsis });
  io.stdout.write(lines.map((l) => `${l.text}\n`).join(''));
  return 0;
}
