// The live view of `kepler-ts top` in a terminal: the alternate screen with the cursor hidden, a
// redraw after every scrape, on each key and on resize, and the terminal given back as it was on
// every way out (q, Ctrl-C, SIGINT, SIGTERM, SIGHUP, an error). Once it has shown data, a failed
// scrape does not end it: the last table stays, with a status line that says what failed and
// since when, until the endpoint answers again.

import { formatDuration } from '../config/duration.js';
import { advanceWindow, LEVELS, readReading, type CounterWindow, type Level, type Scrape } from './reading.js';
import { renderScreen, SORT_KEYS, styled, type View } from './table.js';

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
const EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 0, SIGTERM: 143, SIGHUP: 129 };

/** Runs the live view until the user quits or a signal ends it; resolves with the exit code. */
export function runTerminal(o: TerminalOptions): Promise<number> {
  const now = o.now ?? Date.now;
  const { stdin, stdout } = o;
  let view = o.view;
  let window: CounterWindow = advanceWindow(undefined, o.first);
  let failure: { message: string; sinceMs: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let finished = false;
  let restored = false;
  let resolveExit: (code: number) => void = () => {};
  const exited = new Promise<number>((r) => (resolveExit = r));

  const restore = () => {
    if (restored) return;
    restored = true;
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    stdout.write(LEAVE);
  };

  const draw = () => {
    if (finished) return;
    const width = stdout.columns || 80;
    const height = stdout.rows || 24;
    let status: string | undefined;
    if (failure) {
      const age = formatDuration(Math.round((now() - window.current.atMs) / 1000) * 1000);
      const since = formatDuration(Math.round((now() - failure.sinceMs) / 1000) * 1000);
      status = `${failure.message} (failing for ${since}; the table is ${age} old)`;
    }
    const reading = readReading(window.current, window.previous);
    const lines = renderScreen(reading, view, { width, height, top: o.top, intervalMs: o.intervalMs, keys: true, ellipsis: o.ellipsis, status });
    // Each line at its own row, the rest of it and the rest of the screen cleared: no flicker, no scrolling.
    stdout.write(lines.map((l, i) => `\x1b[${i + 1};1H${styled(l, width)}\x1b[K`).join('') + `\x1b[${lines.length + 1};1H\x1b[J`);
  };

  const tick = async () => {
    const started = now();
    try {
      window = advanceWindow(window, await o.scrape());
      failure = undefined;
    } catch (err) {
      failure = { message: err instanceof Error ? err.message : String(err), sinceMs: failure?.sinceMs ?? started };
    }
    redraw();
    if (finished) return;
    timer = setTimeout(() => void tick(), Math.max(0, o.intervalMs - (now() - started)));
  };

  const finish = (code: number) => {
    if (finished) return;
    finished = true;
    if (timer) clearTimeout(timer);
    stdin.off('data', onData);
    stdout.off('resize', redraw);
    for (const [signal, handler] of handlers) process.off(signal, handler);
    process.off('exit', restore);
    restore();
    resolveExit(code);
  };

  /** A bug while drawing: the terminal back first, so that the message is readable, then exit 1. */
  const fatal = (err: unknown) => {
    finish(1);
    process.stderr.write(`kepler-ts top: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
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
  // The last resort: a crash or a process.exit() elsewhere still gives the terminal back.
  process.on('exit', restore);
  stdout.write(ENTER);
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.on('data', onData);
  stdin.resume();
  stdout.on('resize', redraw);
  redraw();
  if (finished) return exited;
  timer = setTimeout(() => void tick(), o.intervalMs);
  return exited;
}
