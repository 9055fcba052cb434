// The runtime metrics Kepler's `go` debug collector gives, in their Node.js form: the standard
// process_* metrics every Prometheus client exports, and the V8 heap.

import { readdirSync, readFileSync } from 'node:fs';
import type { Snapshot } from '../../monitor/snapshot.js';
import type { Collector } from './collector.js';
import type { ExpositionWriter } from './exposition.js';

export class RuntimeCollector implements Collector {
  private readonly startTimeSec = Math.floor(Date.now() / 1000 - process.uptime());
  private readonly maxFds = readMaxFds();

  collect(_s: Snapshot, out: ExpositionWriter): void {
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    const gauge = (name: string, helpText: string, v: number) => {
      out.family(name, 'gauge', helpText);
      out.sample(name, '', v);
    };
    out.family('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.');
    out.sample('process_cpu_seconds_total', '', (cpu.user + cpu.system) / 1e6);
    gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', mem.rss);
    gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', this.startTimeSec);
    try {
      gauge('process_open_fds', 'Number of open file descriptors.', readdirSync('/proc/self/fd').length);
    } catch {
      // not Linux procfs: leave it out
    }
    if (this.maxFds > 0) gauge('process_max_fds', 'Maximum number of open file descriptors.', this.maxFds);
    gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', mem.heapTotal);
    gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', mem.heapUsed);
    gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.', mem.external);
  }
}

function readMaxFds(): number {
  try {
    const m = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}
