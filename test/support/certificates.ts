// Test helper: self-signed certificates made by the real openssl, for the TLS servers the tests
// run (the exporter's own, and the fake kubelet and API server).

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** `<dir>/<name>.crt` and `.key`: a self-signed certificate with this common name and subjectAltName. */
export function selfSignedCertificate(dir: string, name: string, opts: { cn: string; san: string }): { certFile: string; keyFile: string } {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${opts.cn}`, '-addext', `subjectAltName=${opts.san}`],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl could not make a certificate: ${r.stderr}`);
  return { certFile, keyFile };
}
