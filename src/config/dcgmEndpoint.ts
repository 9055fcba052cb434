// `experimental.gpu.dcgmEndpoint`: the URL of a dcgm-exporter's /metrics, which Kepler reads for
// MIG power attribution (device/gpu/dcgmActivity.ts). It is checked as Kepler does
// (config.go validateDCGMEndpoint), so that a configuration Kepler refuses is refused here too:
// empty is fine; otherwise http or https, a host, no credentials, no query or fragment, no
// backslash, and a port (when given) of 1-65535.

import { httpUrlProblem } from './httpUrl.js';

const EXPECTED = 'expected an http or https URL with a host, e.g. http://10.0.0.5:9400/metrics, or ""';

/** Pure: why `endpoint` is not a valid dcgm-exporter URL, as an "expected ..." message; undefined when valid. */
export function dcgmEndpointProblem(endpoint: string): string | undefined {
  const ep = endpoint.trim();
  if (ep === '') return undefined;
  const { why } = httpUrlProblem(ep, 'no credentials: dcgm-exporter takes none, and they would show in logs');
  return why === undefined ? undefined : why === '' ? EXPECTED : `${EXPECTED} (${why})`;
}
