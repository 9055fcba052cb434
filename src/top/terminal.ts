// The live view of `kepler-ts top` in a terminal: the alternate screen with the cursor hidden, a
// redraw after every scrape, on each key and on resize, and the terminal given back as it was on
// every way out (q, Ctrl-C, SIGINT, SIGTERM, SIGHUP, an error). Once it has shown data, a failed
// scrape does not end it: the last table stays, with a status line that says what failed and
// since when, until the endpoint answers again. Keys are read only where stdin is a terminal.

import { formatDuration } from '../config/duration.js';
import { CounterHistory, LEVELS, readReading, type Level, type Scrape } from './reading.js';
import { renderScreen, SORT_KEYS, styled, type ScreenLine, type View } from './table.js';
import { printable, textWidth } from './text.js';

export type KeyAction = { kind: 'level'; level: Level } | { kind: 'next-level' } | { kind: 'next-sort' } | { kind: 'quit' };

const LEVEL_KEYS: Record<string, Level> = { p: 'process', c: 'container', k: 'pod', v: 'vm' };

/** What a key does; undefined for keys that do nothing. */
export function keyAction(key: string): KeyAction | undefined {
  if (key === 'q' || key === 'Q' || key === '\x03') return { kind: 'quit' };
  if (key === '\t') return { kind: 'next-level' };
  if (key === 's' || key === 'S') return { kind: 'next-sort' };
  const level = LEVEL_KEYS[key.toLowerCase()];
  return level ? { kind: 'level', level } : undefined;
}

export function applyAction(view: View, a: Exclude<KeyAction, { kind: 'quit' }>): View {
  const next = <T>(list: readonly T[], v: T): T => list[(list.indexOf(v) + 1) % list.length];
  if (a.kind === 'level') return { ...view, level: a.level };
  if (a.kind === 'next-level') return { ...view, level: next(LEVELS, view.level) };
  return { ...view, sort: next(SORT_KEYS, view.sort) };
}

/**
 * The keys of one read from a raw terminal: single characters, but an escape sequence (an arrow,
 * a function key) is one key that does nothing, not an Esc followed by letters that switch levels.
 */
export function splitKeys(data: string): string[] {
  return data.startsWith('\x1b') ? [] : Array.from(data);
}

/**
 * The bytes that draw `lines` on a screen of `width` x `height`: each line at its own row, the rest
 * of that row cleared, then the rows below cleared; no flicker, no scrolling. A line that fills its
 * row is not followed by a clear (the cursor waits on its last column, which a clear would erase),
 * nor is a screen that is full (the cursor cannot go below the last row: a clear there would erase
 * that row).
 */
export function frame(lines: readonly ScreenLine[], width: number, height: number): string {
  const rows = lines.map((l, i) => {
    const used = l.style === 'columns' ? Math.max(width, textWidth(l.text)) : textWidth(l.text);
    return `\x1b[${i + 1};1H${styled(l, width)}${used < width ? '\x1b[K' : ''}`;
  });
  return rows.join('') + (lines.length < height ? `\x1b[${lines.length + 1};1H\x1b[J` : '');
}

/** A scrape while rates from counters wait for the counters to move: often, for this long at most. */
export const FAST_POLL_MS = 250;
export const FAST_POLL_BUDGET_MS = 15_000;

/** The wait before the next scrape: `pollMs` from the start of the last one, and at least half of it after its end. */
export function nextScrapeDelay(pollMs: number, lastTookMs: number): number {
  return Math.max(pollMs - lastTookMs, pollMs / 2);
}

/** An error as one line: its message and where it was thrown. */
export function oneLine(err: unknown): string {
  const short = (s: string) => Array.from(printable(s)).slice(0, 300).join('');
  if (!(err instanceof Error)) return short(String(err));
  const at = /\n\s+at (.*)/.exec(err.stack ?? '')?.[1];
  return short(`${err.name}: ${err.message.split('\n')[0]}${at ? ` (at ${at})` : ''}`);
}

export interface TerminalOptions {
  first: Scrape;
  scrape: () => Promise<Scrape>;
  view: View;
  intervalMs: number;
  top?: number;
  ellipsis: string;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  now?: () => number;
}

const ENTER = '\x1b[?1049h\x1b[?25l'; // alternate screen, cursor hidden
const LEAVE = '\x1b[?25h\x1b[?1049l'; // cursor shown, main screen back
/** 128 + the signal's number, as a shell reports a process the signal ended. q and Ctrl-C as a key exit 0. */
const EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/** Runs the live view until the user quits or a signal ends it; resolves with the exit code. */
export function runTerminal(o: TerminalOptions): Promise<number> {
  const now = o.now ?? Date.now;
  const { stdin, stdout } = o;
  let view = o.view;
  const history = new CounterHistory(o.first);
  const fastUntil = now() + FAST_POLL_BUDGET_MS;
  // Typed boolean, but undefined on a stream that is not a terminal.
  const keys = (stdin.isTTY as boolean | undefined) === true;
  let waiting = false;
  let failure: { message: string; sinceMs: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let finished = false;
  let restored = false;
  let resolveExit: (code: number) => void = () => {};
  const exited = new Promise<number>((r) => (resolveExit = r));

  const restore = () => {
    if (restored) return;
    restored = true;
    if (keys) {
      stdin.setRawMode(false);
      stdin.pause();
    }
    stdout.write(LEAVE);
  };

  const draw = () => {
    if (finished) return;
    const width = stdout.columns || 80;
    const height = stdout.rows || 24;
    let status: string | undefined;
    if (failure) {
      const age = formatDuration(Math.round((now() - history.latest.atMs) / 1000) * 1000);
      const since = formatDuration(Math.round((now() - failure.sinceMs) / 1000) * 1000);
      status = `${failure.message} (failing for ${since}; the table is ${age} old)`;
    }
    // The latest scrape's gauges, labels and meter; the counters' history only for their rates.
    const reading = readReading(history.latest, history.base());
    waiting = reading.waiting;
    const lines = renderScreen(reading, view, { width, height, top: o.top, intervalMs: o.intervalMs, keys, ellipsis: o.ellipsis, status });
    stdout.write(frame(lines, width, height));
  };

  const tick = async () => {
    const started = now();
    try {
      history.observe(await o.scrape());
      failure = undefined;
    } catch (err) {
      failure = { message: err instanceof Error ? err.message : String(err), sinceMs: failure?.sinceMs ?? started };
    }
    redraw();
    if (finished) return;
    // Counters only and not moved yet: scrape often for a while, to time their changes closely.
    const pollMs = waiting && now() < fastUntil ? Math.min(FAST_POLL_MS, o.intervalMs) : o.intervalMs;
    timer = setTimeout(() => void tick(), nextScrapeDelay(pollMs, now() - started));
  };

  const finish = (code: number) => {
    if (finished) return;
    finished = true;
    if (timer) clearTimeout(timer);
    stdin.off('data', onData);
    stdout.off('resize', redraw);
    for (const [signal, handler] of handlers) process.off(signal, handler);
    process.off('exit', restore);
    process.off('uncaughtException', fatal);
    process.off('unhandledRejection', fatal);
    restore();
    resolveExit(code);
  };

  /** A bug, while drawing or anywhere else: the terminal back first, so that the message is readable, then one line and exit 1. */
  const fatal = (err: unknown) => {
    if (finished) return;
    finish(1);
    process.stderr.write(`kepler-ts top: internal error: ${oneLine(err)}\n`);
  };

  const redraw = () => {
    try {
      draw();
    } catch (err) {
      fatal(err);
    }
  };

  const onData = (data: Buffer | string) => {
    for (const key of splitKeys(data.toString())) {
      const action = keyAction(key);
      if (!action) continue;
      if (action.kind === 'quit') {
        finish(0);
        return;
      }
      view = applyAction(view, action);
      redraw();
    }
  };
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => [signal, () => finish(EXIT_CODES[signal] ?? 1)] as const);

  for (const [signal, handler] of handlers) process.on(signal, handler);
  // The last resort: a process.exit() elsewhere still gives the terminal back.
  process.on('exit', restore);
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  stdout.write(ENTER);
  if (keys) {
    stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.resume();
  }
  stdout.on('resize', redraw);
  redraw();
  if (finished) return exited;
  const pollMs = waiting ? Math.min(FAST_POLL_MS, o.intervalMs) : o.intervalMs;
  timer = setTimeout(() => void tick(), pollMs);
  return exited;
}
