// Container id and runtime from /proc/<pid>/cgroup, with Kepler's patterns. Both v1 lines
// (`4:cpu,cpuacct:/docker/<id>`) and the v2 line (`0::/system.slice/docker-<id>.scope`) are read.

export type ContainerRuntime = 'docker' | 'containerd' | 'crio' | 'podman' | 'kubernetes' | 'unknown';

export interface CgroupLine {
  hierarchy: string;
  controllers: string[];
  path: string;
}

export function parseProcCgroup(text: string): CgroupLine[] {
  const out: CgroupLine[] = [];
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = a < 0 ? -1 : line.indexOf(':', a + 1);
    if (b < 0) continue;
    const controllers = line.slice(a + 1, b);
    out.push({ hierarchy: line.slice(0, a), controllers: controllers ? controllers.split(',') : [], path: line.slice(b + 1) });
  }
  return out;
}

const PATTERNS: { re: RegExp; runtime: ContainerRuntime }[] = [
  { re: /\/docker[-/]([0-9a-f]{64})/g, runtime: 'docker' },
  { re: /\/containerd[-/]([0-9a-f]{64})/g, runtime: 'containerd' },
  { re: /[:/]cri-containerd[-:]([0-9a-f]{64})/g, runtime: 'containerd' },
  { re: /\/crio-([0-9a-f]{64})/g, runtime: 'crio' },
  { re: /libpod-([0-9a-f]{64})/g, runtime: 'podman' },
  { re: /\/libpod-payload-([0-9a-f]+)/g, runtime: 'podman' },
  { re: /\/kubepods\/(?:[^/]+\/)?pod[0-9a-f-]+\/([0-9a-f]{64})/g, runtime: 'kubernetes' },
];

export interface ContainerMatch {
  id: string;
  runtime: ContainerRuntime;
  /** Where in the path the id starts: the deepest match wins (docker-in-docker, kind). */
  depth: number;
}

/** Pure: the deepest container match in one cgroup path, or undefined. */
export function matchContainer(path: string): ContainerMatch | undefined {
  let best: ContainerMatch | undefined;
  for (const { re, runtime } of PATTERNS) {
    re.lastIndex = 0;
    for (let m = re.exec(path); m; m = re.exec(path)) {
      const depth = m.index + m[0].length - m[1].length;
      if (!best || depth > best.depth) best = { id: m[1], runtime, depth };
    }
  }
  return best;
}

export interface ContainerOfProcess extends ContainerMatch {
  /** The cgroup line the id was found on: its path is the container's cgroup. */
  line: CgroupLine;
}

/**
 * Pure: the container a process belongs to. The v2 line is preferred (it is the one whose
 * cgroup has cpu.stat on v2 and hybrid hosts); among v1 lines, cpuacct's.
 */
export function containerOfProcess(lines: CgroupLine[]): ContainerOfProcess | undefined {
  const rank = (l: CgroupLine) => (l.hierarchy === '0' ? 0 : l.controllers.includes('cpuacct') ? 1 : 2);
  for (const line of [...lines].sort((a, b) => rank(a) - rank(b))) {
    const m = matchContainer(line.path);
    if (m) return { ...m, line };
  }
  return undefined;
}

/**
 * Pure: the pod UID in a kubelet cgroup path, for both cgroup drivers:
 * cgroupfs `/kubepods/burstable/pod<uid>/...`, systemd `kubepods-burstable-pod<uid_with_underscores>.slice`.
 * Static (mirror) pods have a 32-hex UID (an md5 of the manifest) instead of a UUID.
 */
export function podUidFromCgroupPath(path: string): string | undefined {
  const m = /kubepods[^]*?[/-]pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}|[0-9a-f]{32})(?:\.slice)?\//.exec(path);
  return m ? m[1].replace(/_/g, '-') : undefined;
}
