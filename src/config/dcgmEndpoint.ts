// `experimental.gpu.dcgmEndpoint`: the URL of a dcgm-exporter's /metrics, which Kepler reads for
// MIG power attribution (device/gpu/dcgmActivity.ts). It is checked as Kepler does
// (config.go validateDCGMEndpoint), so that a configuration Kepler refuses is refused here too:
// empty is fine; otherwise http or https, a host, no credentials, no query or fragment, no
// backslash, and a port (when given) of 1-65535.

const EXPECTED = 'expected an http or https URL with a host, e.g. http://10.0.0.5:9400/metrics, or ""';

/** Pure: why `endpoint` is not a valid dcgm-exporter URL, as an "expected ..." message; undefined when valid. */
export function dcgmEndpointProblem(endpoint: string): string | undefined {
  const ep = endpoint.trim();
  if (ep === '') return undefined;
  const because = (why: string) => `${EXPECTED} (${why})`;
  // Checked on the text: the WHATWG parser turns "\" into "/" in http URLs, and Go's does not.
  if (ep.includes('\\')) return because('no backslash');
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(?:\/\/([^/?#]*))?([^?#]*)([?#].*)?$/.exec(ep);
  if (!m) return EXPECTED;
  const [, scheme, authority = '', , rest] = m;
  if (!['http', 'https'].includes(scheme.toLowerCase())) return because(`scheme ${JSON.stringify(scheme)} is not http or https`);
  if (authority.includes('@')) return because('no credentials: dcgm-exporter takes none, and they would show in logs');
  if (rest !== undefined) return because('no query string or fragment');
  const hostPort = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(authority);
  if (!hostPort || hostPort[1] === '') return because('a host is required');
  const port = hostPort[2];
  if (port !== undefined && !(/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) return because(`port ${JSON.stringify(port)} is not 1-65535`);
  if (!URL.canParse(ep)) return because(`${JSON.stringify(hostPort[1])} is not a host name or address`);
  return undefined;
}
