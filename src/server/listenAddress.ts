// Go-style listen addresses, as Kepler's --web.listen-address takes them:
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

export function parseListenAddress(s: string): ListenAddress {
  const bad = (why: string): never => {
    throw new Error(`invalid listen address ${JSON.stringify(s)}: ${why}`);
  };
  let host: string;
  let portText: string;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) bad(`missing "]" (${EXPECTED})`);
    host = s.slice(1, close);
    if (s[close + 1] !== ':') bad(`missing port (${EXPECTED})`);
    portText = s.slice(close + 2);
    if (!isIPv6(host)) bad(`${JSON.stringify(host)} is not an IPv6 address`);
  } else {
    const colon = s.lastIndexOf(':');
    if (colon < 0) bad(`missing port (${EXPECTED})`);
    host = s.slice(0, colon);
    portText = s.slice(colon + 1);
    if (host.includes(':')) bad(`IPv6 addresses need brackets, e.g. "[::1]:28282"`);
    if (host !== '' && isIP(host) === 0 && !HOSTNAME.test(host)) bad(`${JSON.stringify(host)} is not a host name or IP address`);
  }
  if (portText === '') bad(`missing port (${EXPECTED})`);
  // Digits only: Go would also take service names ("http"), which we do not look up.
  if (!/^\d{1,5}$/.test(portText)) bad(`port ${JSON.stringify(portText)} is not a number in 1..65535`);
  const port = Number(portText);
  if (port > 65535) bad(`port ${port} is out of range 1..65535`);
  return host === '' ? { port } : { host, port };
}
