// The validated, fully-defaulted configuration. Every key of Kepler's YAML (see
// shared/spec/config.md) has a field here; durations are already converted to milliseconds.
// Produced by loadConfig() (load.ts): defaults, then the YAML file, then command-line flags.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';
export type MeterName = 'rapl' | 'hwmon' | 'fake' | 'estimator';
export type MetricsLevel = 'node' | 'process' | 'container' | 'vm' | 'pod';
export const METRICS_LEVELS: readonly MetricsLevel[] = ['node', 'process', 'container', 'vm', 'pod'];

export interface Config {
  log: { level: LogLevel; format: LogFormat };
  host: { sysfs: string; procfs: string };
  monitor: {
    /** Refresh period in ms; 0 = refresh only when scraped. */
    intervalMs: number;
    /** A scrape finding the last snapshot older than this refreshes first. */
    stalenessMs: number;
    /** 0 off, -1 unlimited. */
    maxTerminated: number;
    /** Joules; terminated workloads below it are not kept. */
    minTerminatedEnergyThreshold: number;
    /** (ours) How long a terminated workload stays exported after a scrape first showed it, ms. */
    terminatedRetentionMs: number;
    /** (ours) A zone interval implying more watts than this is dropped as implausible. */
    maxZoneWatts: number;
  };
  cpu: { preferredMeters: MeterName[] };
  rapl: { zones: string[] };
  exporter: {
    stdout: { enabled: boolean };
    prometheus: {
      enabled: boolean;
      debugCollectors: string[];
      metricsLevel: MetricsLevel[];
      /** (ours) Also export the legacy metric family of Kepler 0.7-0.9 (metrics.md); --exporter.prometheus.legacy-metrics. */
      legacyMetrics: boolean;
    };
  };
  debug: { pprof: { enabled: boolean } };
  web: { configFile: string; listenAddresses: string[] };
  kube: {
    enabled: boolean;
    config: string;
    nodeName: string;
    podInformer: { mode: 'kubelet' | 'apiserver'; pollIntervalMs: number };
    /** (ours) CA bundle that verifies the kubelet's serving certificate; empty = not verified, as in Kepler. */
    kubeletCAFile: string;
  };
  experimental: {
    platform: { redfish: { enabled: boolean; nodeName: string; configFile: string; httpTimeoutMs: number } };
    hwmon: { forceEnabled: boolean; zones: string[] };
    gpu: { enabled: boolean; idlePower: number };
  };
  /** (ours) The power estimator used where no meter works (shared/spec/estimation.md). */
  estimator: {
    /** Model name (`kepler-ts model evaluate` lists them); '' = the built-in default. */
    model: string;
    /** TDP of one CPU package in watts; 0 = from the CPU catalog, else from the core count. */
    tdpWatts: number;
    /** This machine's watts at idle / at full load (a VM: its share); 0 = from the model. */
    idleWatts: number;
    maxWatts: number;
    /** Measured (load 0-1, watts) points of this machine; they override idle/max watts. */
    points: { load: number; watts: number }[];
    /** auto = detect (hypervisor CPU flag, DMI); true/false force it. */
    virtualMachine: 'auto' | 'true' | 'false';
    /** Logical CPUs of a VM's host; 0 = two packages of this CPU model. */
    hostCpus: number;
  };
  dev: {
    fakeCpuMeter: {
      enabled: boolean;
      zones: string[];
      /** (ours) Watts per zone name; zones not listed use a built-in default. */
      watts: Record<string, number>;
    };
  };
}

/** A configuration problem that stops start-up (exit code 2). `message` is the whole line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
