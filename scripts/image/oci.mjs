// Writes an OCI image layout (oci-layout, index.json, blobs/sha256/) around one gzip-compressed
// layer, with a config whose every field is fixed by its arguments (created = SOURCE_DATE_EPOCH),
// so that the same layer and arguments always give the same image ID. `podman load` reads it.
//   node scripts/image/oci.mjs <layout-dir> <layer.tar> <layer.tar.gz> <epoch> <ref> <label=value>...
// The ENTRYPOINT, WORKDIR, USER, ENV and EXPOSE are the Dockerfile's runtime stage's.
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, layerTar, layerGz, epoch, ref, ...labelArgs] = process.argv.slice(2);
if (!ref) {
  console.error('usage: oci.mjs <layout-dir> <layer.tar> <layer.tar.gz> <epoch> <ref> <label=value>...');
  process.exit(2);
}
const sha256File = (file) =>
  new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
const blobs = join(dir, 'blobs', 'sha256');
mkdirSync(blobs, { recursive: true });
const putJson = (obj) => {
  const text = JSON.stringify(obj);
  const digest = createHash('sha256').update(text).digest('hex');
  writeFileSync(join(blobs, digest), text);
  return { digest: `sha256:${digest}`, size: Buffer.byteLength(text) };
};

const diffId = await sha256File(layerTar);
const gzDigest = await sha256File(layerGz);
copyFileSync(layerGz, join(blobs, gzDigest));
const created = new Date(Number(epoch) * 1000).toISOString();
const labels = Object.fromEntries(labelArgs.map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
const config = putJson({
  created,
  architecture: 'amd64',
  os: 'linux',
  config: {
    User: '0:0',
    ExposedPorts: { '28282/tcp': {} },
    Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'NODE_ENV=production'],
    Entrypoint: ['/nodejs/bin/node', 'dist/src/cli/main.js'],
    WorkingDir: '/app',
    Labels: labels,
  },
  rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
  history: [{ created, created_by: 'scripts/build-image.sh', comment: 'one layer: scripts/image/base.sh and the app' }],
});
const manifest = putJson({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${gzDigest}`, size: statSync(layerGz).size }],
  annotations: labels,
});
writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
writeFileSync(
  join(dir, 'index.json'),
  JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': ref } }],
  }),
);
console.log(JSON.stringify({ imageId: config.digest, diffId: `sha256:${diffId}`, layerDigest: `sha256:${gzDigest}` }));
