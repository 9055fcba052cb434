// Measured power inside a VM, on one machine as the hypervisor and the guest would see it:
// kepler-ts as the host, over a RAPL tree whose counters follow the real CPU (and wrap every few
// seconds), with a VM (a busy process under qemu's command line, -name guest=vm1, in its own
// cgroup) writing the VM's energy as a powercap tree; kepler-ts as the guest, with no RAPL of its
// own, reading that tree with its passthrough meter. Over changing load the guest's node package
// joules follow the host's kepler_vm_cpu_joules_total{vm_name="vm1",zone="package"} within 2 %,
// the guest's workloads get that energy, neither counter resets; a tree that stops (the host
// paused) hands over to the estimator and back without a counter going down; a VM that ends has
// its folder removed.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomUid } from '../../harness/ids.js';
import { parseExposition, select, sum, type Exposition } from '../support/exposition.js';
import { cgroupV2Root, CGROUP_ROOT, freePort, killGroup, removeCgroups, requireCommand, startExporter, type Exporter } from '../support/processes.js';
import { RaplTree } from '../support/raplTree.js';

/** Small enough that the host's package counter wraps every few seconds under load. */
const PACKAGE_RANGE_UJ = 60_000_000;

async function scrape(e: Exporter): Promise<Exposition> {
  const r = await fetch(`${e.url}/metrics`, { headers: { Accept: 'text/plain' } });
  assert.equal(r.status, 200);
  return parseExposition(await r.text());
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const value = (e: Exposition, name: string, match: Record<string, string>) => {
  const s = select(e, name, match);
  assert.equal(s.length, 1, `${name} ${JSON.stringify(match)}: ${s.length} series`);
  return s[0].value;
};

describe('VM passthrough: the host hands each VM its measured energy', { timeout: 240_000 }, () => {
  const v2 = cgroupV2Root();
  const tmp = mkdtempSync(join(tmpdir(), 'kepler-vmpass-'));
  const hostSys = join(tmp, 'host-sys');
  const guestSys = join(tmp, 'guest-sys');
  const trees = join(tmp, 'scaphandre');
  const vmCgroup = join(v2, `kepler-test-vm-${randomUid().slice(0, 8)}`);
  let vm: ChildProcess;
  let tree: RaplTree;
  let host: Exporter;
  let guest: Exporter;
  /** Paired scrapes, the host's first, then the guest's (which reads the tree the host just wrote). */
  const pairs: { host: Exposition; guest: Exposition }[] = [];

  async function pair(): Promise<{ host: Exposition; guest: Exposition }> {
    const p = { host: await scrape(host), guest: await scrape(guest) };
    pairs.push(p);
    return p;
  }

  before(async () => {
    requireCommand('perl');
    for (const s of [hostSys, guestSys]) {
      mkdirSync(join(s, 'fs'), { recursive: true });
      symlinkSync(CGROUP_ROOT, join(s, 'fs', 'cgroup'));
    }
    tree = new RaplTree(hostSys, [
      { dir: 'intel-rapl:0', name: 'package-0', zone: 'package', idleWatts: 10, maxWatts: 60, maxRangeUj: PACKAGE_RANGE_UJ },
      { dir: 'intel-rapl:0:2', name: 'dram', zone: 'dram', idleWatts: 3, maxWatts: 6, maxRangeUj: 65_712_999_613 },
    ]);
    tree.start(50);
    tree.resume();
    // The VM: qemu's command line, a duty cycle the test changes through a file, in its own cgroup.
    mkdirSync(vmCgroup, { recursive: true });
    const duty = join(tmp, 'duty');
    spawnDuty(duty, 30);
    vm = spawn(
      'bash',
      [
        '-c',
        `echo $$ > ${join(vmCgroup, 'cgroup.procs')} && exec -a qemu-system-x86_64 perl -MTime::HiRes=time,sleep -e 'while (1) { my $d = 0; if (open(my $f, "<", $ENV{DUTY})) { $d = <$f> || 0; close $f } my $end = time + $d / 1000; 1 while time < $end; sleep((100 - $d) / 1000) }' -- -name guest=vm1,debug-threads=on -uuid ${randomUid()}`,
      ],
      { stdio: 'ignore', detached: true, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', DUTY: duty } },
    );
    const hp = await freePort();
    host = await startExporter(
      [
        `--host.sysfs=${hostSys}`,
        `--web.listen-address=127.0.0.1:${hp}`,
        '--monitor.interval=0s',
        '--monitor.staleness=0s',
        // The tree's true zero-load power: a busy VM is billed active energy in every interval (a
        // learned baseline above it would bill none, and a guest rightly takes a still tree for stale).
        '--monitor.idle.watts=package=10',
        '--monitor.idle.watts=dram=3',
        '--vm.passthrough.enabled',
        `--vm.passthrough.dir=${trees}`,
        '--vm.passthrough.keep=0s',
      ],
      hp,
    );
    // The host refreshes (and writes the tree) when scraped; the guest is scraped right after.
    await scrape(host);
    await sleep(1000);
    await scrape(host);
    const gp = await freePort();
    // Refreshed each second (a tree still for 3 s is stale) and at each scrape.
    guest = await startExporter(
      [`--host.sysfs=${guestSys}`, `--web.listen-address=127.0.0.1:${gp}`, '--monitor.interval=1s', '--monitor.staleness=0s', `--passthrough.dir=${join(trees, 'vm1')}`],
      gp,
    );
    // Changing load over the window: 30 %, 80 %, 10 %, 60 % of a CPU.
    for (const d of [30, 80, 10, 60]) {
      spawnDuty(duty, d);
      for (let i = 0; i < 6; i++) {
        await sleep(1000);
        await pair();
      }
    }
  });

  after(async () => {
    if (vm) killGroup(vm);
    for (const e of [host, guest]) if (e && e.child.exitCode === null) e.child.kill('SIGKILL');
    tree?.stop();
    await removeCgroups([vmCgroup]);
    rmSync(tmp, { recursive: true, force: true });
  });

  it("the host writes the VM's tree as RAPL lays it out, world-readable, and the guest reads it as its meter", async () => {
    const dir = join(trees, 'vm1');
    for (const [entry, name] of [
      ['intel-rapl:0', 'package-0'],
      ['intel-rapl:0:0', 'core'],
      ['intel-rapl:0:1', 'dram'],
    ]) {
      assert.equal(readFileSync(join(dir, entry, 'name'), 'utf8').trim(), name);
      assert.equal(statSync(join(dir, entry, 'energy_uj')).mode & 0o777, 0o644);
      assert.ok(Number(readFileSync(join(dir, entry, 'max_energy_range_uj'), 'utf8')) > 0);
    }
    const g = await scrape(guest);
    const info = select(g, 'kepler_exporter_meter_info');
    assert.equal(info[0]?.labels.meter, 'passthrough');
    assert.deepEqual(
      select(g, 'kepler_node_cpu_joules_total', { zone: 'package' }).map((s) => s.labels.path),
      [`passthrough:${dir}`],
    );
  });

  it("over changing load the guest's node package joules follow the host's VM package joules within 2 %, and neither goes down", () => {
    assert.ok(pairs.length >= 20, `${pairs.length} paired scrapes`);
    const hostVm = (e: Exposition) => value(e, 'kepler_vm_cpu_joules_total', { vm_name: 'vm1', zone: 'package', state: 'running' });
    const guestNode = (e: Exposition) => value(e, 'kepler_node_cpu_joules_total', { zone: 'package' });
    const first = pairs[1];
    const last = pairs[pairs.length - 1];
    const hostGain = hostVm(last.host) - hostVm(first.host);
    const guestGain = guestNode(last.guest) - guestNode(first.guest);
    assert.ok(hostGain > 20, `the VM used ${hostGain} J`);
    const steps = pairs.slice(1).map((p, i) => `${(hostVm(p.host) - hostVm(pairs[i].host)).toFixed(2)}/${(guestNode(p.guest) - guestNode(pairs[i].guest)).toFixed(2)}`);
    assert.ok(Math.abs(guestGain - hostGain) <= hostGain * 0.02, `guest ${guestGain} J, host ${hostGain} J; host/guest per step: ${steps.join(' ')}`);
    for (let i = 1; i < pairs.length; i++) {
      assert.ok(hostVm(pairs[i].host) >= hostVm(pairs[i - 1].host), `host VM counter went down at ${i}`);
      assert.ok(guestNode(pairs[i].guest) >= guestNode(pairs[i - 1].guest), `guest counter went down at ${i}`);
    }
    assert.ok(tree.addedUj('package') > 2 * PACKAGE_RANGE_UJ, "the host's package counter wrapped during the run");
  });

  it("the guest's workloads get that energy: processes + unattributed + dropped = the guest's active package energy", async () => {
    const g = await scrape(guest);
    const processes = sum(select(g, 'kepler_process_cpu_joules_total', { zone: 'package' }));
    const unattributed = value(g, 'kepler_node_cpu_unattributed_joules_total', { zone: 'package', level: 'process' });
    const dropped = value(g, 'kepler_node_cpu_dropped_joules_total', { zone: 'package', level: 'process' });
    const active = value(g, 'kepler_node_cpu_active_joules_total', { zone: 'package' });
    assert.ok(processes > 0);
    assert.ok(Math.abs(processes + unattributed + dropped - active) < 1e-3, `${processes} + ${unattributed} + ${dropped} vs ${active}`);
    const vmProcess = select(g, 'kepler_process_cpu_joules_total', { zone: 'package', type: 'vm' });
    assert.ok(vmProcess.length > 0 && vmProcess[0].value > 0, "the busy process is billed the tree's energy");
  });

  it('a tree that stops (the host paused) hands over to the estimator and back, without a counter going down', async () => {
    const before = value((await pair()).guest, 'kepler_node_cpu_joules_total', { zone: 'package' });
    host.child.kill('SIGSTOP');
    let stale = false;
    let last = before;
    for (let i = 0; i < 8; i++) {
      await sleep(1000);
      const g = await scrape(guest);
      const now = value(g, 'kepler_node_cpu_joules_total', { zone: 'package' });
      assert.ok(now >= last, 'the guest counter never goes down');
      last = now;
      if (select(g, 'kepler_exporter_meter_info')[0]?.labels.state === 'passthrough-stale') stale = true;
    }
    assert.ok(stale, 'reported stale in kepler_exporter_meter_info');
    assert.ok(last > before, 'the estimator went on while the tree stood still');
    host.child.kill('SIGCONT');
    let back = false;
    for (let i = 0; i < 8 && !back; i++) {
      await sleep(1000);
      const { guest: g } = await pair();
      const now = value(g, 'kepler_node_cpu_joules_total', { zone: 'package' });
      assert.ok(now >= last, 'the guest counter never goes down');
      last = now;
      back = select(g, 'kepler_exporter_meter_info')[0]?.labels.state === 'passthrough';
    }
    assert.ok(back, 'the passthrough meter again once the tree moves');
    assert.match(guest.stderr(), /stale/i);
  });

  it('a VM that ends has its folder removed (vm.passthrough.keep 0s)', async () => {
    killGroup(vm);
    for (let i = 0; i < 10 && existsSync(join(trees, 'vm1')); i++) {
      await sleep(500);
      await scrape(host);
    }
    assert.ok(!existsSync(join(trees, 'vm1')));
  });
});

/** The VM's duty cycle, percent of each 100 ms it spins. */
function spawnDuty(file: string, percent: number): void {
  writeFileAtomic(file, String(percent));
}

function writeFileAtomic(file: string, text: string): void {
  const tmpFile = `${file}.tmp`;
  writeFileSync(tmpFile, text);
  renameSync(tmpFile, file);
}
