// What kepler-ts uses of @kubernetes/client-node, and the only module that imports it at run time,
// lazily (import('./clientNode.js'), in apiserver mode and for kubeconfig credential plugins). The
// client's index re-exports every API group: through these names alone the image's bundle
// (scripts/image/bundle.mjs) holds 1.5 of its 3.5 MiB. To use another name of the client, export it here.
export { CoreV1Api, KubeConfig, ListWatch, Watch } from '@kubernetes/client-node';
