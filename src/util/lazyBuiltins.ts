// Node's crypto, tls, https and worker_threads, loaded where first used rather than with the
// exporter: only some configurations use them (a web config with TLS or basic auth: bcrypt's
// worker threads; Redfish), the live page's ETags once it is asked for. Imported with the modules,
// crypto, tls and https cost ~2 MiB of resident memory in an exporter that never calls them
// (their JavaScript, OpenSSL's start, the code Node keeps), worker_threads five modules more.
// require() of Node's own modules works from anywhere, the image's bundle included.

import { createRequire } from 'node:module';

const requireBuiltin = createRequire(import.meta.url);

export const cryptoModule = (): typeof import('node:crypto') => requireBuiltin('node:crypto') as typeof import('node:crypto');
export const tlsModule = (): typeof import('node:tls') => requireBuiltin('node:tls') as typeof import('node:tls');
export const httpsModule = (): typeof import('node:https') => requireBuiltin('node:https') as typeof import('node:https');
export const workerThreadsModule = (): typeof import('node:worker_threads') => requireBuiltin('node:worker_threads') as typeof import('node:worker_threads');
