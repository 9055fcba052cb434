// Go-style listen addresses, as Kepler's --web.listen-address takes them. The one check: the
// config schema validates `web.listenAddresses` with it, and the web server binds what it returns.
//   ":28282"          all interfaces (host undefined: Node then binds "::" dual-stack, or 0.0.0.0)
//   "127.0.0.1:9100"  one IPv4 address
//   "[::1]:28282"     one IPv6 address (brackets required, as in Go's net.SplitHostPort)
//   "localhost:80"    a host name, resolved by Node at listen time
// Port 0 is accepted, as in Go: it asks the kernel for any free port (tests use it).

import { isIP, isIPv6 } from 'node:net';

export interface ListenAddress {
  host?: string;
  port: number;
}

const EXPECTED = 'expected host:port, :port or [ipv6]:port';
// RFC 1123 host name: dot-separated labels of letters, digits and hyphens.
const HOSTNAME = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$/;

/** Pure: the address, or why `s` is not one ("missing port (expected ...)"). */
export function checkListenAddress(s: string): { address: ListenAddress } | { problem: string } {
  const bad = (problem: string) => ({ problem });
  let host: string;
  let portText: string;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return bad(`missing "]" (${EXPECTED})`);
    host = s.slice(1, close);
    if (s[close + 1] !== ':') return bad(`missing port (${EXPECTED})`);
    portText = s.slice(close + 2);
    if (!isIPv6(host)) return bad(`${JSON.stringify(host)} is not an IPv6 address`);
  } else {
    const colon = s.lastIndexOf(':');
    if (colon < 0) return bad(`missing port (${EXPECTED})`);
    host = s.slice(0, colon);
    portText = s.slice(colon + 1);
    if (host.includes(':')) return bad(`IPv6 addresses need brackets, e.g. "[::1]:28282"`);
    if (host !== '' && isIP(host) === 0 && !HOSTNAME.test(host)) return bad(`${JSON.stringify(host)} is not a host name or IP address`);
  }
  if (portText === '') return bad(`missing port (${EXPECTED})`);
  // Digits only: Go would also take service names ("http"), which we do not look up.
  if (!/^\d{1,5}$/.test(portText)) return bad(`port ${JSON.stringify(portText)} is not a number in 0..65535`);
  const port = Number(portText);
  if (port > 65535) return bad(`port ${port} is out of range 0..65535`);
  return { address: host === '' ? { port } : { host, port } };
}

/** Throws `invalid listen address "<s>": <why>` for anything but a listen address. */
export function parseListenAddress(s: string): ListenAddress {
  const r = checkListenAddress(s);
  if ('problem' in r) throw new Error(`invalid listen address ${JSON.stringify(s)}: ${r.problem}`);
  return r.address;
}
