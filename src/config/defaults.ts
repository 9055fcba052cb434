import { METRICS_LEVELS, type Config } from './config.js';

/** Kepler's built-in defaults (shared/spec/config.md). Returns a fresh object on each call. */
export function defaultConfig(): Config {
  return {
    log: { level: 'info', format: 'text' },
    host: { sysfs: '/sys', procfs: '/proc' },
    // Retention 1m: at least two scrapes at Kepler's usual 30 s, so both servers of an HA pair see a workload end.
    monitor: { intervalMs: 5000, stalenessMs: 500, maxTerminated: 500, minTerminatedEnergyThreshold: 10, terminatedRetentionMs: 60_000, maxZoneWatts: 5000 },
    cpu: { preferredMeters: ['rapl', 'hwmon'] },
    rapl: { zones: [] },
    exporter: {
      stdout: { enabled: false },
      prometheus: { enabled: true, debugCollectors: ['go'], metricsLevel: [...METRICS_LEVELS], legacyMetrics: false },
    },
    debug: { pprof: { enabled: false } },
    web: { configFile: '', listenAddresses: [':28282'] },
    kube: {
      enabled: false,
      config: '',
      nodeName: '',
      podInformer: { mode: 'kubelet', pollIntervalMs: 15_000 },
      kubeletCAFile: '',
    },
    experimental: {
      platform: { redfish: { enabled: false, nodeName: '', configFile: '', httpTimeoutMs: 5000 } },
      hwmon: { forceEnabled: false, zones: [] },
      gpu: { enabled: false, idlePower: 0 },
    },
    estimator: { model: '', tdpWatts: 0, idleWatts: 0, maxWatts: 0, points: [], virtualMachine: 'auto', hostCpus: 0 },
    dev: { fakeCpuMeter: { enabled: false, zones: [], watts: {} } },
  };
}
