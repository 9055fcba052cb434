// How the exporter reacts to signals. Installed by the entry point before any other module loads
// (that alone takes ~250 ms), so that none of them meets Node's default action (exit 128+n with
// an empty log), start-up included:
//   SIGTERM, SIGINT  stop: the application's stop() runs, bounded by a deadline; exit 0
//                    (1 when stopping failed). A second one while stopping is logged and
//                    ignored: the stop already has a deadline, and an exit 143 in the middle
//                    of it would read as a crash.
//   SIGHUP           logged and ignored: kepler-ts has no configuration reload (a restart
//                    applies changes), and a daemon must not die when its terminal goes away.
// A signal that arrives before the logger exists is remembered and logged once it does.

import type { Logger } from '../logger/logger.js';

/** The whole stop stays within Kubernetes' default 30 s grace, and within Kepler's 5 s. */
export const STOP_DEADLINE_MS = 4500;

type StopSignal = 'SIGTERM' | 'SIGINT';

export class StopSignals {
  /** Resolves when a stop signal arrives (never rejects). */
  readonly requested: Promise<void>;
  /** The exit code once the stop has finished (or its deadline passed). */
  readonly stopped: Promise<number>;
  /** The first stop signal received, if any. */
  received: StopSignal | undefined;
  private resolveRequested: () => void = () => {};
  private resolveStopped: (code: number) => void = () => {};
  private stopFn: (() => Promise<void>) | undefined;
  private logger: Logger | undefined;
  private hupBeforeLogger = false;
  private readonly handlers: [NodeJS.Signals, () => void][];

  constructor(private readonly deadlineMs = STOP_DEADLINE_MS) {
    this.requested = new Promise((r) => (this.resolveRequested = r));
    this.stopped = new Promise((r) => (this.resolveStopped = r));
    this.handlers = [
      ['SIGTERM', () => this.stop('SIGTERM')],
      ['SIGINT', () => this.stop('SIGINT')],
      ['SIGHUP', () => this.hangup()],
    ];
  }

  install(): void {
    for (const [signal, handler] of this.handlers) process.on(signal, handler);
  }

  /** Gives the signals back to Node's defaults; a stop signal already received is re-raised. */
  uninstall(): void {
    for (const [signal, handler] of this.handlers) process.off(signal, handler);
    if (this.received) process.kill(process.pid, this.received);
  }

  /** From now on signals are logged here; one that came before is logged now. */
  attachLogger(logger: Logger): void {
    this.logger = logger;
    if (this.received) logger.info('stopping', { signal: this.received });
    if (this.hupBeforeLogger) this.hangup();
  }

  /** What a stop signal runs. A signal that came before this is set stops with nothing to run. */
  onStop(fn: () => Promise<void>): void {
    this.stopFn = fn;
  }

  private stop(signal: StopSignal): void {
    if (this.received) {
      this.logger?.info('already stopping; signal ignored', { signal });
      return;
    }
    this.received = signal;
    this.logger?.info('stopping', { signal });
    this.resolveRequested();
    // Whatever happens, the process is gone within the deadline. Not unref'd: it also holds the
    // process until the stop is done.
    setTimeout(() => {
      this.logger?.warn('stop deadline reached, exiting');
      this.resolveStopped(0);
    }, this.deadlineMs);
    const stop = this.stopFn ?? (() => Promise.resolve());
    stop().then(
      () => this.resolveStopped(0),
      (err: unknown) => {
        this.logger?.error('error while stopping', { err });
        this.resolveStopped(1);
      },
    );
  }

  private hangup(): void {
    if (!this.logger) {
      this.hupBeforeLogger = true;
      return;
    }
    this.hupBeforeLogger = false;
    this.logger.info('SIGHUP ignored: kepler-ts does not reload its configuration; restart it to apply changes');
  }
}
