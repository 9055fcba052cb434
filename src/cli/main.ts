#!/usr/bin/env node
// kepler-ts: start with Kepler's flags, e.g.
//   kepler-ts --config.file=c.yaml --host.sysfs=/host/sys --host.procfs=/host/proc --web.listen-address=:28282
// Exit codes: 0 clean stop, 1 no power meter or cannot listen, 2 configuration error.
//
// This entry point only installs the signal handlers, then loads the rest: loading the modules
// takes a quarter of a second, and a SIGTERM in it must not kill the process with an empty log.

import { StopSignals } from './stopSignals.js';

const signals = new StopSignals();
signals.install();
// The heap policy (heapPolicy.ts) is applied by the exporter's command, once its configuration is read.

// The event loop ran dry before the command settled: something stopped holding it (a timer that
// was unref'd, a server that never listened). Exiting 0 here would look like a clean stop and
// restart silently in a loop; say so and fail instead.
process.once('beforeExit', () => {
  process.stderr.write('kepler-ts: internal error: nothing left to run before the exporter stopped (no listener, no timer); exiting with 1\n');
  process.exit(1);
});

import('./command.js')
  .then(({ runCommand }) => runCommand(process.argv.slice(2), signals))
  .then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`kepler-ts: unexpected error: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
