// The pod informer the configuration asks for (kube.podInformer.mode). Neither module loads the
// Kubernetes client at import: the API server informer loads it when it starts.

import type { Config } from '../config/config.js';
import type { Logger } from '../logger/logger.js';
import { ApiServerPodInformer } from './apiServerPodInformer.js';
import { loadKubeAccess } from './kubeClient.js';
import { KubeletPodInformer } from './kubeletPodInformer.js';
import type { PodInformer } from './podInformer.js';

/** Throws ConfigError when neither a kubeconfig nor the in-cluster service account is there. */
export function createPodInformer(kube: Config['kube'], logger: Logger): PodInformer {
  const access = loadKubeAccess(kube.config);
  logger.info('kubernetes pod metadata', {
    mode: kube.podInformer.mode,
    node: kube.nodeName,
    credentials: access.inCluster ? 'in-cluster service account' : kube.config,
    ...(kube.podInformer.mode === 'kubelet' ? { poll_interval: `${kube.podInformer.pollIntervalMs}ms`, kubelet_ca: kube.kubeletCAFile || 'not verified' } : {}),
    // The kubelet mode makes its requests itself, but a credential plugin needs the official client.
    ...(kube.podInformer.mode === 'kubelet' && access.kc.userPlugin() ? { credential_plugin: access.kc.userPlugin() } : {}),
  });
  return kube.podInformer.mode === 'apiserver'
    ? new ApiServerPodInformer({ access, nodeName: kube.nodeName, logger })
    : new KubeletPodInformer({ access, nodeName: kube.nodeName, pollIntervalMs: kube.podInformer.pollIntervalMs, kubeletCAFile: kube.kubeletCAFile, logger });
}
