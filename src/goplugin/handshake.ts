// The start of hashicorp go-plugin's protocol, as the plugin side sees it: the host passes a
// "magic cookie" and the application protocol versions it speaks in the environment, and reads
// one handshake line from the plugin's stdout. Pure functions; the server does the I/O.

/** go-plugin's own protocol version, the first field of the handshake line. */
export const CORE_PROTOCOL_VERSION = 1;

export interface HandshakeConfig {
  /** The application's protocol version (aether's source plugins: 1). */
  appProtocolVersion: number;
  magicCookieKey: string;
  magicCookieValue: string;
}

/** What a go-plugin plugin prints when it is started by hand instead of by its host. */
export const NOT_A_PROGRAM_MESSAGE =
  'This binary is a plugin. These are not meant to be executed directly.\n' +
  'Please execute the program that consumes these plugins, which will\n' +
  'load any plugins automatically\n';

/** True when the host that started us set the cookie go-plugin hosts set. */
export function hasMagicCookie(env: NodeJS.ProcessEnv, config: HandshakeConfig): boolean {
  return env[config.magicCookieKey] === config.magicCookieValue;
}

/**
 * Whether the host speaks our app protocol version. `PLUGIN_PROTOCOL_VERSIONS` lists the host's
 * versions (comma separated); a host that lists none takes what we offer. As in go-plugin, a
 * mismatch is not ours to refuse: we offer our version and the host reports the incompatibility.
 */
export function hostAcceptsVersion(env: NodeJS.ProcessEnv, config: HandshakeConfig): boolean {
  const listed = env.PLUGIN_PROTOCOL_VERSIONS?.trim();
  if (!listed) return true;
  return listed.split(',').some((v) => Number(v.trim()) === config.appProtocolVersion);
}

export interface ListenAddress {
  network: 'unix' | 'tcp';
  address: string;
}

/**
 * `CORE|APP|NETWORK|ADDRESS|PROTOCOL`. No sixth field: go-plugin reads one as the server's TLS
 * certificate, and a host without AutoMTLS (aether) crashes on it.
 */
export function handshakeLine(appVersion: number, listen: ListenAddress): string {
  return `${CORE_PROTOCOL_VERSION}|${appVersion}|${listen.network}|${listen.address}|grpc\n`;
}

/** The TCP port range the host allows (`PLUGIN_MIN_PORT`..`PLUGIN_MAX_PORT`), go-plugin's defaults otherwise. */
export function portRange(env: NodeJS.ProcessEnv): { min: number; max: number } {
  const min = Number(env.PLUGIN_MIN_PORT ?? '');
  const max = Number(env.PLUGIN_MAX_PORT ?? '');
  const ok = (n: number) => Number.isInteger(n) && n > 0 && n < 65536;
  if (ok(min) && ok(max) && min <= max) return { min, max };
  return { min: 10000, max: 25000 };
}
