// A few worker threads that run bcrypt compares off the event loop.
//
// A bcrypt compare is ~50-200 ms of CPU at cost 10. On the event loop, a handful of wrong
// passwords held every other request behind them, /metrics and /healthz included. Here they cost
// a worker's time only: the event loop just posts a message and waits.
//
// Workers start on the first compare that needs one, and an idle worker is unref()'d, so the pool
// never keeps the process alive (a worker with a check pending is ref()'d, like any I/O in
// flight). A worker that dies fails its pending checks closed (false) and is reported; the next
// compare starts a new one in its place, so a worker that cannot even load costs one failed start
// per check, never a restart loop.

import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { workerThreadsModule } from '../util/lazyBuiltins.js';
import type { BcryptReply, BcryptRequest } from './bcryptWorker.js';

/** One worker per core beyond the event loop's, at most 2: bcrypt must not take over the node. */
export function defaultPoolSize(cores = availableParallelism()): number {
  return Math.max(1, Math.min(2, cores - 1));
}

export interface BcryptPoolOptions {
  /** Number of workers; defaultPoolSize() when absent. */
  size?: number;
  /** The worker script (tests replace it). bcryptWorker.js beside this module when absent. */
  script?: URL;
  /** A worker failed to start, threw or exited; its checks have already failed closed. */
  onError?: (err: Error) => void;
}

interface Slot {
  index: number;
  worker: Worker;
  /** Resolvers of the checks sent to this worker, by request id. */
  pending: Map<number, (ok: boolean) => void>;
}

export class BcryptPool {
  private readonly slots: (Slot | undefined)[];
  private readonly script: URL;
  private readonly onError: (err: Error) => void;
  private nextId = 0;
  private closed = false;

  constructor(opts: BcryptPoolOptions = {}) {
    const size = opts.size ?? defaultPoolSize();
    if (!Number.isInteger(size) || size < 1) throw new Error(`BcryptPool: size ${size}: expected an integer >= 1`);
    this.slots = new Array<Slot | undefined>(size).fill(undefined);
    // Resolved against the compiled module (dist/src/server/), where tsc puts bcryptWorker.js.
    this.script = opts.script ?? new URL('./bcryptWorker.js', import.meta.url);
    this.onError = opts.onError ?? (() => {});
  }

  /** Whether `password` matches `hash`. Never rejects: a dead worker or a closed pool is false. */
  compare(password: string, hash: string): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    const slot = this.pick();
    if (!slot) return Promise.resolve(false);
    const id = this.nextId++;
    return new Promise<boolean>((resolve) => {
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(id, resolve);
      slot.worker.postMessage({ id, password, hash } satisfies BcryptRequest);
    });
  }

  /** Stops the workers; checks still pending fail closed. Later compares are false. */
  async close(): Promise<void> {
    this.closed = true;
    const live = this.slots.filter((s): s is Slot => s !== undefined);
    this.slots.fill(undefined);
    for (const s of live) failPending(s);
    await Promise.all(live.map((s) => s.worker.terminate()));
  }

  /** An idle worker, else a new one in an empty slot, else the one with the fewest checks queued. */
  private pick(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) {
      if (s && s.pending.size === 0) return s;
      if (s && (!best || s.pending.size < best.pending.size)) best = s;
    }
    const free = this.slots.indexOf(undefined);
    return free >= 0 ? this.start(free) : best;
  }

  private start(index: number): Slot | undefined {
    let worker: Worker;
    try {
      // worker_threads is loaded with the first worker, not with the web server (lazyBuiltins.ts).
      worker = new (workerThreadsModule().Worker)(this.script);
    } catch (err) {
      this.onError(new Error(`bcrypt worker cannot start: ${(err as Error).message}`, { cause: err }));
      return undefined;
    }
    worker.unref();
    const slot: Slot = { index, worker, pending: new Map() };
    this.slots[index] = slot;
    // `ok` as another thread sent it: anything but a literal true is a denial (fail closed).
    worker.on('message', ({ id, ok }: Pick<BcryptReply, 'id'> & { ok: unknown }) => {
      const done = slot.pending.get(id);
      slot.pending.delete(id);
      if (slot.pending.size === 0) worker.unref();
      done?.(ok === true);
    });
    // 'error' (it threw, or could not load) is followed by 'exit'; lost() reports the first only.
    worker.on('error', (err) => this.lost(slot, new Error(`bcrypt worker failed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => this.lost(slot, new Error(`bcrypt worker exited with code ${code}`)));
    return slot;
  }

  private lost(slot: Slot, err: Error): void {
    if (this.slots[slot.index] !== slot) return; // already replaced, or the pool was closed
    this.slots[slot.index] = undefined;
    failPending(slot);
    this.onError(err);
  }
}

function failPending(slot: Slot): void {
  const waiting = [...slot.pending.values()];
  slot.pending.clear();
  for (const done of waiting) done(false);
}
