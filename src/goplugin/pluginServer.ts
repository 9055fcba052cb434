// The plugin side of hashicorp go-plugin's gRPC transport: listen where the host can reach us
// (a unix socket, as go-plugin plugins do on Linux, else loopback TCP in the host's port
// range), serve go-plugin's own services next to the plugin's, and print the handshake line.

import { randomInt } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { handshakeLine, hostAcceptsVersion, portRange, type HandshakeConfig, type ListenAddress } from './handshake.js';
import type { HclogLogger } from './hclogLogger.js';
import { InternalServices } from './internalServices.js';

/** How long in-flight calls get to finish once the host asks us to stop. */
const STOP_GRACE_MS = 1000;

export interface PluginServerOptions {
  handshake: HandshakeConfig;
  logger: HclogLogger;
  env?: NodeJS.ProcessEnv;
  /** Where the handshake line goes: stdout, whose first line the host reads. */
  writeHandshake?: (line: string) => void;
  /** Adds the plugin's own services. */
  register(server: grpc.Server): void;
}

export class PluginServer {
  /** Resolves with the reason once the server has stopped. */
  readonly stopped: Promise<string>;
  private resolveStopped!: (reason: string) => void;
  private stopping = false;

  private constructor(
    private readonly server: grpc.Server,
    private readonly internal: InternalServices,
    readonly address: ListenAddress,
    private readonly logger: HclogLogger,
  ) {
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
  }

  static async start(opts: PluginServerOptions): Promise<PluginServer> {
    const env = opts.env ?? process.env;
    const server = new grpc.Server();
    let plugin: PluginServer | undefined;
    const internal = new InternalServices({
      onShutdownRequest: () => void plugin?.stop('the host asked the plugin to shut down'),
      onTrace: (msg, fields) => opts.logger.trace(msg, fields),
    });
    internal.register(server);
    opts.register(server);
    const address = await listen(server, env, opts.logger);
    plugin = new PluginServer(server, internal, address, opts.logger);

    if (!hostAcceptsVersion(env, opts.handshake)) {
      opts.logger.warn('the host does not list our protocol version; it will refuse the plugin', {
        plugin_version: opts.handshake.appProtocolVersion,
        host_versions: env.PLUGIN_PROTOCOL_VERSIONS,
      });
    }
    opts.logger.debug('plugin address', { network: address.network, address: address.address });
    (opts.writeHandshake ?? ((line) => process.stdout.write(line)))(handshakeLine(opts.handshake.appProtocolVersion, address));
    return plugin;
  }

  /** Stops serving: health goes NOT_SERVING, streams end, calls in flight get a moment to finish. */
  async stop(reason: string): Promise<void> {
    if (this.stopping) return this.stopped.then(() => undefined);
    this.stopping = true;
    this.logger.info('stopping', { reason });
    this.internal.stopping();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, STOP_GRACE_MS);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    if (this.address.network === 'unix') rmSync(this.address.address, { force: true });
    this.resolveStopped(reason);
  }
}

async function listen(server: grpc.Server, env: NodeJS.ProcessEnv, logger: HclogLogger): Promise<ListenAddress> {
  const credentials = grpc.ServerCredentials.createInsecure();
  const bind = (target: string) => new Promise<void>((resolve, reject) => server.bindAsync(target, credentials, (err) => (err ? reject(err) : resolve())));

  // go-plugin's own plugins listen on a fresh socket in the temp dir (newer hosts may name the dir).
  const dir = env.PLUGIN_UNIX_SOCKET_DIR || tmpdir();
  const socket = join(dir, `plugin${randomInt(1e9)}`);
  try {
    await bind(`unix:${socket}`);
    return { network: 'unix', address: socket };
  } catch (err) {
    logger.debug('cannot listen on a unix socket, trying loopback TCP', { socket, error: err as Error });
  }
  const { min, max } = portRange(env);
  for (let port = min; port <= max; port++) {
    try {
      await bind(`127.0.0.1:${port}`);
      return { network: 'tcp', address: `127.0.0.1:${port}` };
    } catch {
      // taken: try the next one, as go-plugin does
    }
  }
  throw new Error(`cannot listen: no unix socket in ${dir} and no free TCP port in ${min}-${max}`);
}
