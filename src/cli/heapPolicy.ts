// The exporter's heap, sized for an agent on every node rather than for throughput. V8's defaults
// let the young generation grow from 1 to 16 MiB per semi-space (32 MiB resident) as soon as many
// objects survive a collection, which the first refresh causes (every process is new), and it
// rarely shrinks back; and they let the old generation grow well past what survives before
// collecting it. At 5,000 processes a fresh exporter sat at 100-110 MiB resident, 52 MiB of it V8
// heap of which 19 MiB was live (--trace-gc), for minutes; with this policy, 71-76 MiB.
//
// - The young generation keeps its initial size (growth factor 1, which V8 reads whenever it
//   would grow it, so it can be set now): a refresh's garbage is collected in 1 MiB steps.
// - The old generation may grow 25 % past what survived the last full collection.
// - One full collection once the exporter has started, when the start-up garbage (module loading,
//   the first refresh reading every process's labels) is all there is to collect.
// - V8's memory-saving heap sizing (--optimize-for-size, read as V8 sizes the heap): among other
//   things the old generation's limit is raised in steps of 2 MiB instead of 8, so the heap does
//   not swing by 8 MiB on a node whose live data barely changes (with it, 57.4 MiB at 5,000
//   processes; without, 60-62.5).
// - No optimizing compiler (TurboFan): V8's interpreter and its baseline compiler (Sparkplug) run
//   the exporter. Its time goes to system calls more than to JavaScript; TurboFan's own code
//   (pages of the Node.js binary), the memory its compiler threads leave in their allocator's
//   arenas and what it keeps per optimized function cost ~6 MiB resident at any budget (only the
//   hottest functions optimized, 62.6 MiB; none, 57.4). The price is JavaScript's speed where much
//   of it runs: a refresh that reads all of 5,000 processes' stat files takes ~120 ms instead of
//   ~70, a scrape exporting 45,000 series renders in ~100 ms instead of ~50. On a node whose
//   processes sleep in their containers most of a refresh is skipped (quietCgroups.ts), and the
//   exporter's CPU there was no higher (README, Performance).
// Both are read when V8 decides (to compile a function, to size the heap), so they take effect at
// run time. Flags given on the command line or in NODE_OPTIONS win.
//
// When: once Node's modules that the exporter uses are loaded (command.ts), after the
// configuration is read, and before the exporter's own modules load. A V8 flag set at run time
// changes the hash of V8's flags, and V8 refuses the code cache Node ships for its own modules when
// that hash differs: every one of them loaded afterwards was compiled from source and a new cache
// of it kept (1.1 MiB of memory for 76 modules in the exporter, and ~15 ms of CPU).

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** How much the old generation may grow past its live size before the next full collection, percent. */
export const HEAP_GROWING_PERCENT = 25;

let collect: () => void = () => undefined;

/** Sets the flags; call it before the exporter's modules load, once Node's own are (see above). */
export function applyAgentHeapPolicy(): void {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  if (!/semi[-_]space/.test(given)) setFlagsFromString('--semi-space-growth-factor=1');
  if (!/heap[-_]growing[-_]percent/.test(given)) setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  if (!/optimize[-_]for[-_]size/.test(given)) setFlagsFromString('--optimize-for-size');
  if (!/--(no[-_])?(opt|turbofan)\b/.test(given)) setFlagsFromString('--no-opt');
  // gc() exists only under --expose-gc: turned on just long enough to take it from a new context
  // (where it is installed at creation), so that nothing else in the process sees a global gc.
  if (typeof globalThis.gc === 'function') {
    collect = () => globalThis.gc?.();
    return;
  }
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
  setFlagsFromString('--no-expose-gc');
  if (typeof gc === 'function') collect = () => (gc as () => void)();
}

/** The one full collection, once started (a no-op where gc() could not be had). */
export function collectStartupGarbage(): void {
  const once = collect;
  collect = () => undefined; // lets the context gc() came from go
  once();
}
