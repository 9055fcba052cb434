// The URL checks Kepler makes of its http endpoints (dcgm-exporter's, a BMC's), on the text as Go's
// net/url sees it: the WHATWG parser would turn "\" into "/" in an http URL, and Go's does not.

/**
 * Pure: why `url` (trimmed, not empty) is not an http or https URL with a host, no credentials
 * (`credentials` says why, for the message), no query and no fragment, and a port (when given) of
 * 1-65535: a reason, or '' when it is not a URL at all; undefined when it is fine. And its path.
 */
export function httpUrlProblem(url: string, credentials: string): { why?: string; path: string } {
  if (url.includes('\\')) return { why: 'no backslash', path: '' };
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(?:\/\/([^/?#]*))?([^?#]*)([?#].*)?$/.exec(url);
  if (!m) return { why: '', path: '' };
  const [, scheme, authority = '', path, rest] = m;
  if (!['http', 'https'].includes(scheme.toLowerCase())) return { why: `scheme ${JSON.stringify(scheme)} is not http or https`, path };
  if (authority.includes('@')) return { why: credentials, path };
  if (rest !== undefined) return { why: 'no query string or fragment', path };
  const hostPort = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(authority);
  if (!hostPort || hostPort[1] === '') return { why: 'a host is required', path };
  const port = hostPort[2];
  if (port !== undefined && !(/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) return { why: `port ${JSON.stringify(port)} is not 1-65535`, path };
  if (!URL.canParse(url)) return { why: `${JSON.stringify(hostPort[1])} is not a host name or address`, path };
  return { path };
}
