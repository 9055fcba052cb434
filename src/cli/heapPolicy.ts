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
// Flags given on the command line or in NODE_OPTIONS win.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** How much the old generation may grow past its live size before the next full collection, percent. */
export const HEAP_GROWING_PERCENT = 25;

let collect: () => void = () => undefined;

/** Sets the flags; call it first thing, before the exporter's modules load. */
export function applyAgentHeapPolicy(): void {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  if (!/semi[-_]space/.test(given)) setFlagsFromString('--semi-space-growth-factor=1');
  if (!/heap[-_]growing[-_]percent/.test(given)) setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
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
