// Hardware detection for the power estimator: readHostProfile on fake procfs/sysfs trees
// (test/fixtures/host/<case>/{proc,sys}) of a 2-socket Xeon, a 1-socket EPYC, an EC2 VM, a
// Raspberry Pi 4 and an EC2 bare-metal host; the pure parsers and the VM rules on edge cases; and
// the CPU catalog against published facts.

import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { armCoreOf, catalogSkus, inferMicroarchitectureFromName, lookupCpuModel, microarchitectureOf, normaliseCpuName } from '../../src/estimation/cpuCatalog.js';
import { buildHostProfile, readHostProfile, type HostProfile } from '../../src/estimation/hostProfile.js';
import { parseHostCpuInfo, parseMemTotalGb } from '../../src/resource/hostCpu.js';
import { detectVirtualization, type DmiInfo } from '../../src/resource/virtualization.js';
import { near } from '../support/assertions.js';

// ---------- helpers ----------

// Compiled to dist/test/unit/; the fixtures stay in the source tree.
const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/host/', import.meta.url));

function hostOf(name: string): HostProfile {
  const root = join(FIXTURES, name);
  return readHostProfile({ procfs: join(root, 'proc'), sysfs: join(root, 'sys') });
}

/** A temporary procfs+sysfs tree from path -> content; removed after the test. */
function tree(t: TestContext, files: Record<string, string>): { procfs: string; sysfs: string } {
  const root = mkdtempSync(join(tmpdir(), 'kepler-host-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  mkdirSync(join(root, 'proc'), { recursive: true });
  mkdirSync(join(root, 'sys'), { recursive: true });
  return { procfs: join(root, 'proc'), sysfs: join(root, 'sys') };
}

/** A small x86 cpuinfo: one record per entry, fields given per record. */
function x86(records: Record<string, string>[]): string {
  return (
    records
      .map((r, i) =>
        Object.entries({ processor: String(i), ...r })
          .map(([k, v]) => `${k}\t: ${v}`)
          .join('\n'),
      )
      .join('\n\n') + '\n'
  );
}

const INTEL = { vendor_id: 'GenuineIntel', 'cpu family': '6', model: '85', 'model name': 'Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz', stepping: '7' };

// ---------- readHostProfile on the fixtures ----------

describe('readHostProfile on fixture machines', () => {
  test('2-socket Xeon Gold 6140 (Dell R740): 2 chips, 36 cores, 72 threads, Skylake-SP, 140 W, bare metal', () => {
    const h = hostOf('intel-xeon-2s');
    assert.equal(h.vendor, 'intel');
    assert.equal(h.modelName, 'Intel(R) Xeon(R) Gold 6140 CPU @ 2.30GHz');
    assert.deepEqual([h.family, h.model, h.stepping], [6, 85, 4]);
    assert.deepEqual([h.logicalCpus, h.chips, h.cores, h.threads], [72, 2, 36, 72]);
    assert.equal(h.hypervisorFlag, false);
    near(h.memGb, 394836952 / 1048576, 1e-9, 'memGb');
    assert.deepEqual(h.virtualization, {
      isVm: false,
      hypervisor: 'none',
      evidence: 'no hypervisor flag and no virtual-machine DMI string',
    });
    assert.equal(h.dmi.productName, 'PowerEdge R740');
    assert.deepEqual(h.spec, {
      cpuName: 'Intel(R) Xeon(R) Gold 6140 CPU @ 2.30GHz',
      vendor: 'intel',
      architecture: 'skylake',
      year: 2017,
      chips: 2,
      cores: 36,
      threads: 72,
      tdpWatts: 140,
      memGb: 394836952 / 1048576,
    });
    assert.deepEqual(h.notes, [], 'everything was found');
    assert.equal(h.boardModel, undefined);
  });

  test('1-socket AMD EPYC 7763: 64 cores, 128 threads, Zen 3 (epyc-gen3, 2021), 280 W, bare metal', () => {
    const h = hostOf('amd-epyc-1s');
    assert.equal(h.vendor, 'amd');
    assert.equal(h.modelName, 'AMD EPYC 7763 64-Core Processor');
    assert.deepEqual([h.family, h.model, h.stepping], [25, 1, 1]);
    assert.deepEqual([h.logicalCpus, h.chips, h.cores, h.threads], [128, 1, 64, 128]);
    near(h.memGb, 503.65, 0.01, 'memGb');
    assert.equal(h.virtualization.isVm, false);
    assert.equal(h.virtualization.hypervisor, 'none');
    assert.deepEqual([h.spec.architecture, h.spec.year, h.spec.tdpWatts], ['epyc-gen3', 2021, 280]);
    assert.deepEqual(h.notes, []);
  });

  test('AWS m5.xlarge: a VM (hypervisor flag), 4 vCPUs on 2 cores, Cascade Lake, the TDP of the retail sibling', () => {
    const h = hostOf('aws-m5-xlarge');
    assert.equal(h.modelName, 'Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz');
    assert.deepEqual([h.logicalCpus, h.chips, h.cores, h.threads], [4, 1, 2, 4]);
    assert.equal(h.hypervisorFlag, true);
    assert.deepEqual(h.virtualization, {
      isVm: true,
      hypervisor: 'amazon',
      cloud: 'amazon',
      evidence: 'cpuinfo flag "hypervisor"; dmi sys_vendor "Amazon EC2"',
    });
    assert.deepEqual([h.spec.architecture, h.spec.year, h.spec.tdpWatts, h.spec.chips, h.spec.cores], ['cascadelake', 2019, 165, 1, 2]);
    near(h.spec.memGb, 15.16, 0.01, 'memGb');
    assert.deepEqual(h.notes, ['Xeon Platinum 8259CL: no published TDP; using 165 W of Xeon Platinum 8260']);
  });

  test('Raspberry Pi 4: ARM Cortex-A72 x 4, board name from cpuinfo and the device tree, no DMI, TDP from the core', () => {
    const h = hostOf('rpi4');
    assert.equal(h.vendor, 'arm');
    assert.equal(h.modelName, 'Raspberry Pi 4 Model B Rev 1.4');
    assert.equal(h.boardModel, 'Raspberry Pi 4 Model B Rev 1.4', 'NUL terminator stripped');
    assert.deepEqual([h.armImplementer, h.armPart], [0x41, 0xd08]);
    assert.equal(h.family, undefined);
    assert.deepEqual([h.logicalCpus, h.chips, h.cores, h.threads], [4, 1, 4, 4]);
    near(h.memGb, 3.7, 0.01, 'memGb');
    assert.equal(h.virtualization.isVm, false);
    assert.equal(h.virtualization.hypervisor, 'none');
    assert.deepEqual(h.dmi, {});
    // The core is a Cortex-A72 (2015); the board's name dates it to 2019.
    assert.deepEqual([h.spec.architecture, h.spec.year], ['cortex-a72', 2019]);
    // No SKU in the catalog: the package budget is the A72's per-core figure x 4 cores.
    assert.equal(h.spec.tdpWatts, 4.0);
    assert.ok(
      h.notes.some((n) => n.includes('TDP 4 W from') && n.includes('per core')),
      JSON.stringify(h.notes),
    );
    const dmiNote = h.notes.find((n) => n.includes('class/dmi/id'));
    assert.ok(dmiNote, `a note about the missing DMI files, got ${JSON.stringify(h.notes)}`);
    assert.match(dmiNote, /sys_vendor, product_name, bios_vendor, board_vendor, chassis_vendor missing$/);
    assert.equal(h.notes.length, 2);
  });

  test('AWS c5.metal: Amazon EC2 DMI but no hypervisor flag is bare metal, 2 x 24 cores', () => {
    const h = hostOf('aws-c5-metal');
    assert.equal(h.modelName, 'Intel(R) Xeon(R) Platinum 8275CL CPU @ 3.00GHz');
    assert.deepEqual([h.logicalCpus, h.chips, h.cores, h.threads], [96, 2, 48, 96]);
    assert.equal(h.hypervisorFlag, false);
    assert.equal(h.virtualization.isVm, false);
    assert.equal(h.virtualization.hypervisor, 'none');
    assert.equal(h.virtualization.cloud, 'amazon');
    assert.match(h.virtualization.evidence, /no hypervisor flag.*"Amazon EC2".*"c5\.metal"/);
    assert.deepEqual([h.spec.architecture, h.spec.year, h.spec.tdpWatts], ['cascadelake', 2019, 205]);
  });
});

describe('readHostProfile on incomplete trees', () => {
  test('missing cpuinfo: the error names the file', (t) => {
    const { procfs, sysfs } = tree(t, {});
    assert.throws(
      () => readHostProfile({ procfs, sysfs }),
      (err: Error) => err.message === `${join(procfs, 'cpuinfo')}: cannot read (ENOENT)`,
    );
  });

  test('empty cpuinfo and cpuinfo without processors are errors naming the file', (t) => {
    const empty = tree(t, { 'proc/cpuinfo': '\n  \n' });
    assert.throws(() => readHostProfile(empty), { message: `${join(empty.procfs, 'cpuinfo')}: empty` });
    const junk = tree(t, { 'proc/cpuinfo': 'this is not cpuinfo\nprocessor : x\n' });
    assert.throws(() => readHostProfile(junk), { message: `${join(junk.procfs, 'cpuinfo')}: no "processor" entries` });
  });

  test('only cpuinfo: memory 0 and notes for meminfo and DMI; hypervisor/type and device-tree absence are not noted', (t) => {
    const paths = tree(t, { 'proc/cpuinfo': x86([{ ...INTEL, flags: 'fpu hypervisor' }]) });
    const h = readHostProfile(paths);
    assert.equal(h.memGb, undefined);
    assert.equal(h.spec.memGb, 0);
    assert.deepEqual(h.notes, [
      `${join(paths.procfs, 'meminfo')}: missing`,
      `${join(paths.sysfs, 'class', 'dmi', 'id')}: sys_vendor, product_name, bios_vendor, board_vendor, chassis_vendor missing`,
      'memory size unknown: memGb 0',
    ]);
    assert.deepEqual(h.virtualization, { isVm: true, hypervisor: 'unknown', evidence: 'cpuinfo flag "hypervisor"' });
    assert.deepEqual([h.spec.architecture, h.spec.tdpWatts], ['cascadelake', 125]);
  });

  test('a Xen guest: sysfs hypervisor/type and DMI "Xen"/"HVM domU" without the flag', (t) => {
    const paths = tree(t, {
      'proc/cpuinfo': x86([{ ...INTEL, flags: 'fpu vme' }]),
      'proc/meminfo': 'MemTotal:        8388608 kB\n',
      'sys/hypervisor/type': 'xen\n',
      'sys/class/dmi/id/sys_vendor': 'Xen\n',
      'sys/class/dmi/id/product_name': 'HVM domU\n',
    });
    const h = readHostProfile(paths);
    assert.equal(h.xenType, 'xen');
    assert.equal(h.memGb, 8);
    assert.equal(h.virtualization.isVm, true);
    assert.equal(h.virtualization.hypervisor, 'xen');
    assert.match(h.virtualization.evidence, /dmi sys_vendor "Xen", a string only virtual machines show/);
    assert.ok(
      h.notes.some((n) => n.endsWith('bios_vendor, board_vendor, chassis_vendor missing')),
      JSON.stringify(h.notes),
    );
  });
});

// ---------- parseHostCpuInfo ----------

describe('parseHostCpuInfo', () => {
  test('an empty flags line is no hypervisor flag; a "hypervisor" substring of another flag is not one either', () => {
    assert.equal(parseHostCpuInfo(x86([{ ...INTEL, flags: '' }])).hypervisorFlag, false);
    assert.equal(parseHostCpuInfo(x86([{ ...INTEL, flags: 'fpu not_hypervisor hypervisor_x' }])).hypervisorFlag, false);
    assert.equal(parseHostCpuInfo(x86([{ ...INTEL, flags: 'fpu hypervisor lahf_lm' }])).hypervisorFlag, true);
    assert.equal(parseHostCpuInfo(x86([INTEL])).hypervisorFlag, false, 'no flags line at all');
  });

  test('no physical id: one chip, cores from the distinct core ids', () => {
    const c = parseHostCpuInfo(
      x86([
        { ...INTEL, 'core id': '0' },
        { ...INTEL, 'core id': '1' },
        { ...INTEL, 'core id': '0' },
        { ...INTEL, 'core id': '1' },
      ]),
    );
    assert.deepEqual([c.logicalCpus, c.chips, c.cores, c.threads], [4, 1, 2, 4]);
  });

  test('same core id on two sockets counts twice; no core id falls back to "cpu cores" x chips; no topology at all to logical CPUs', () => {
    const two = parseHostCpuInfo(
      x86([
        { ...INTEL, 'physical id': '0', 'core id': '0' },
        { ...INTEL, 'physical id': '1', 'core id': '0' },
      ]),
    );
    assert.deepEqual([two.chips, two.cores], [2, 2]);
    const byCount = parseHostCpuInfo(x86([0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({ ...INTEL, 'physical id': String(i % 2), 'cpu cores': '2' }))));
    assert.deepEqual([byCount.chips, byCount.cores, byCount.threads], [2, 4, 8]);
    const bare = parseHostCpuInfo(x86([INTEL, INTEL, INTEL]));
    assert.deepEqual([bare.chips, bare.cores, bare.threads], [1, 3, 3]);
  });

  test('garbage lines, an empty key, a non-numeric processor and CRLF endings are ignored', () => {
    const text = [
      '\u0000\u0001 binary junk',
      ': no key',
      'processor : zero',
      'no colon here',
      '',
      'processor\t: 0\r',
      'vendor_id\t: GenuineIntel\r',
      'cpu family\t: 6\r',
      'model\t\t: 63\r',
      'model name\t: Intel(R) Xeon(R) CPU           E5-2699 v3  @ 2.30GHz\r',
      'stepping\t: 2\r',
      'garbage without separator\r',
      '\r',
      'processor\t: 1\r',
      'vendor_id\t: GenuineIntel\r',
      '',
    ].join('\n');
    const c = parseHostCpuInfo(text);
    assert.equal(c.logicalCpus, 2);
    assert.equal(c.vendor, 'intel');
    assert.deepEqual([c.family, c.model, c.stepping], [6, 63, 2]);
    assert.equal(c.modelName, 'Intel(R) Xeon(R) CPU E5-2699 v3 @ 2.30GHz', 'runs of blanks collapsed');
  });

  test('no processor entries: logicalCpus 0, chips still 1', () => {
    assert.deepEqual(parseHostCpuInfo(''), { vendor: 'other', modelName: '', logicalCpus: 0, chips: 1, cores: 0, threads: 0, hypervisorFlag: false });
  });

  test('HygonGenuine is AMD-compatible; an unknown vendor is "other"', () => {
    assert.equal(parseHostCpuInfo(x86([{ vendor_id: 'HygonGenuine', 'cpu family': '24', model: '1', 'model name': 'Hygon C86 7185 32-core Processor' }])).vendor, 'amd');
    assert.equal(parseHostCpuInfo(x86([{ vendor_id: 'CentaurHauls', 'model name': 'ZHAOXIN KaiXian KX-U6780A@2.7GHz' }])).vendor, 'other');
  });

  const arm = (part: string, extra = '') =>
    `processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: ${part}\nCPU revision\t: 1\n${extra}\n`;

  test('ARM without a model name: the name comes from the core (Neoverse-N1, as on Graviton2 or Altra)', () => {
    const c = parseHostCpuInfo(arm('0xd0c') + arm('0xd0c').replace('processor\t: 0', 'processor\t: 1'));
    assert.equal(c.vendor, 'arm');
    assert.equal(c.modelName, 'ARM Neoverse-N1');
    assert.deepEqual([c.armImplementer, c.armPart, c.logicalCpus, c.chips, c.cores, c.threads], [0x41, 0xd0c, 2, 1, 2, 2]);
    assert.equal(c.hypervisorFlag, false);
  });

  test('ARM with an unknown part names the part; a 32-bit generic model name gives way to the Hardware line', () => {
    assert.equal(parseHostCpuInfo(arm('0xd99')).modelName, 'ARM CPU part 0xd99 (implementer 0x41)');
    const v7 = 'processor\t: 0\nmodel name\t: ARMv7 Processor rev 5 (v7l)\nCPU implementer\t: 0x41\nCPU part\t: 0xc07\n\nHardware\t: BCM2835\nRevision\t: a21041\n';
    assert.equal(parseHostCpuInfo(v7).modelName, 'BCM2835');
    const v7bare = 'processor\t: 0\nmodel name\t: ARMv7 Processor rev 5 (v7l)\nCPU implementer\t: 0x41\nCPU part\t: 0xc07\n';
    assert.equal(parseHostCpuInfo(v7bare).modelName, 'ARM Cortex-A7');
  });

  test('big.LITTLE with as many little as big cores: the big cores (listed last) decide', () => {
    const rk3588 = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => `processor\t: ${i}\nCPU implementer\t: 0x41\nCPU part\t: ${i < 4 ? '0xd05' : '0xd0b'}\n`).join('\n');
    const c = parseHostCpuInfo(rk3588);
    assert.equal(c.armPart, 0xd0b);
    assert.equal(c.modelName, 'ARM Cortex-A76');
    const mostlyLittle = [0, 1, 2, 3, 4, 5].map((i) => `processor\t: ${i}\nCPU implementer\t: 0x41\nCPU part\t: ${i < 4 ? '0xd03' : '0xd08'}\n`).join('\n');
    assert.equal(parseHostCpuInfo(mostlyLittle).armPart, 0xd03, 'the majority wins when there is one');
  });
});

// ---------- parseMemTotalGb ----------

describe('parseMemTotalGb', () => {
  test('MemTotal kB as GiB; absent or malformed gives undefined', () => {
    near(parseMemTotalGb('MemTotal:       16303764 kB\nMemFree:         1234 kB\n'), 15.548, 0.001, '16 GB laptop');
    assert.equal(parseMemTotalGb('MemTotal:        1048576 kB'), 1);
    assert.equal(parseMemTotalGb('MemFree:         1234 kB\n'), undefined);
    assert.equal(parseMemTotalGb('MemTotal:       lots kB\n'), undefined);
    assert.equal(parseMemTotalGb(''), undefined);
  });
});

// ---------- detectVirtualization ----------

describe('detectVirtualization', () => {
  const d = (hypervisorFlag: boolean, dmi: DmiInfo, extra: { xenType?: string; cpuVendor?: 'intel' | 'arm' } = {}) => detectVirtualization({ hypervisorFlag, dmi, ...extra });

  const cases: [string, boolean, DmiInfo, { xenType?: string; cpuVendor?: 'intel' | 'arm' }, boolean, string][] = [
    ['EC2 Nitro VM', true, { sysVendor: 'Amazon EC2', productName: 'm5.xlarge' }, {}, true, 'amazon'],
    ['EC2 .metal', false, { sysVendor: 'Amazon EC2', productName: 'c5.metal' }, {}, false, 'none'],
    ['EC2 .metal-24xl', false, { sysVendor: 'Amazon EC2', productName: 'm7i.metal-24xl' }, {}, false, 'none'],
    ['Graviton VM (arm64: no flag)', false, { sysVendor: 'Amazon EC2', productName: 'm6g.large' }, { cpuVendor: 'arm' }, true, 'amazon'],
    ['Graviton .metal', false, { sysVendor: 'Amazon EC2', productName: 'c6g.metal' }, { cpuVendor: 'arm' }, false, 'none'],
    ['Azure / Hyper-V', false, { sysVendor: 'Microsoft Corporation', productName: 'Virtual Machine' }, {}, true, 'microsoft'],
    ['a Surface laptop is no VM', false, { sysVendor: 'Microsoft Corporation', productName: 'Surface Laptop 4' }, {}, false, 'none'],
    ['QEMU q35', false, { sysVendor: 'QEMU', productName: 'Standard PC (Q35 + ICH9, 2009)' }, {}, true, 'qemu'],
    ['RHEL KVM', false, { sysVendor: 'Red Hat', productName: 'KVM' }, {}, true, 'kvm'],
    ['VMware', false, { sysVendor: 'VMware, Inc.', productName: 'VMware Virtual Platform' }, {}, true, 'vmware'],
    ['VirtualBox', true, { sysVendor: 'innotek GmbH', productName: 'VirtualBox' }, {}, true, 'virtualbox'],
    ['OpenStack', false, { sysVendor: 'OpenStack Foundation', productName: 'OpenStack Nova' }, {}, true, 'openstack'],
    ['DigitalOcean', false, { sysVendor: 'DigitalOcean', productName: 'Droplet' }, {}, true, 'digitalocean'],
    ['Hetzner Cloud', false, { sysVendor: 'Hetzner', productName: 'vServer' }, {}, true, 'hetzner'],
    ['Alibaba ECS', true, { sysVendor: 'Alibaba Cloud', productName: 'Alibaba Cloud ECS' }, {}, true, 'alibaba'],
    ['GCE x86 VM', true, { sysVendor: 'Google', productName: 'Google Compute Engine' }, {}, true, 'google'],
    ['GCE without the flag on x86 (bare metal)', false, { sysVendor: 'Google', productName: 'Google Compute Engine' }, { cpuVendor: 'intel' }, false, 'none'],
    ['GCE Axion/T2A VM (arm64: no flag)', false, { sysVendor: 'Google', productName: 'Google Compute Engine' }, { cpuVendor: 'arm' }, true, 'google'],
    ['Xen type only', false, {}, { xenType: 'xen\n' }, true, 'xen'],
    ['flag but nothing names it', true, {}, {}, true, 'unknown'],
    ['Dell server', false, { sysVendor: 'Dell Inc.', productName: 'PowerEdge R740' }, {}, false, 'none'],
    ['Raspberry Pi (no DMI)', false, {}, { cpuVendor: 'arm' }, false, 'none'],
  ];
  for (const [name, flag, dmi, extra, isVm, hypervisor] of cases) {
    test(name, () => {
      const v = d(flag, dmi, extra);
      assert.deepEqual([v.isVm, v.hypervisor], [isVm, hypervisor], v.evidence);
      assert.ok(v.evidence.length > 0);
    });
  }

  test('evidence names the deciding input; cloud is set on EC2 bare metal too', () => {
    assert.equal(
      d(false, { sysVendor: 'Microsoft Corporation', productName: 'Virtual Machine' }).evidence,
      'dmi product_name "Virtual Machine", a string only virtual machines show (no hypervisor flag)',
    );
    assert.equal(
      d(false, { sysVendor: 'Amazon EC2', productName: 'm6g.large' }, { cpuVendor: 'arm' }).evidence,
      'dmi sys_vendor "Amazon EC2" with instance type "m6g.large", not .metal',
    );
    assert.deepEqual(d(false, { sysVendor: 'Amazon EC2', productName: 'c5.metal' }), {
      isVm: false,
      hypervisor: 'none',
      cloud: 'amazon',
      evidence: 'no hypervisor flag and no virtual-machine DMI string; dmi sys_vendor "Amazon EC2", instance type "c5.metal"',
    });
    assert.equal(d(false, { sysVendor: 'Dell Inc.' }).cloud, undefined);
  });
});

describe('buildHostProfile', () => {
  test('a catalog entry that contradicts CPUID is used, with a note', () => {
    // A hypervisor may pass the host's model name with a made-up signature (family 6 model 45).
    const cpu = parseHostCpuInfo(x86([{ ...INTEL, 'model name': 'Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz', model: '45' }]));
    const h = buildHostProfile({ cpu, memGb: 8, dmi: {} });
    assert.deepEqual([h.spec.architecture, h.spec.year, h.spec.tdpWatts], ['icelake', 2021, 265]);
    assert.ok(h.notes[0].startsWith('catalog says icelake for "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz" but family 6 model 45 is sandybridge'), h.notes[0]);
  });

  test('a CPU no table knows: no architecture, no year, no TDP, and notes saying so', () => {
    const cpu = parseHostCpuInfo(x86([{ ...INTEL, 'model name': 'QEMU Virtual CPU version 2.5+', model: '6', stepping: '3' }]));
    const h = buildHostProfile({ cpu, memGb: 2, dmi: {} });
    assert.deepEqual(Object.keys(h.spec).sort(), ['chips', 'cores', 'cpuName', 'memGb', 'threads', 'vendor']);
    assert.deepEqual(h.notes, [
      'microarchitecture of "QEMU Virtual CPU version 2.5+" (family 6 model 6) unknown',
      '"QEMU Virtual CPU version 2.5+" not in the CPU catalog: TDP unknown',
    ]);
  });

  test('the name dates a refresh CPUID cannot tell apart: Gold 6248R is 2020, Cascade Lake by both', () => {
    const cpu = parseHostCpuInfo(x86([{ ...INTEL, 'model name': 'Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz' }]));
    const h = buildHostProfile({ cpu, memGb: 8, dmi: {} });
    assert.deepEqual([h.spec.architecture, h.spec.year, h.spec.tdpWatts], ['cascadelake', 2020, 205]);
  });
});

// ---------- cpuCatalog ----------

describe('microarchitectureOf', () => {
  const intel: [number, number | undefined, string, number][] = [
    [26, 5, 'nehalem', 2009],
    [44, 2, 'nehalem', 2010],
    [47, 2, 'nehalem', 2011],
    [45, 7, 'sandybridge', 2012],
    [62, 4, 'ivybridge', 2013],
    [63, 2, 'haswell', 2014],
    [79, 1, 'broadwell', 2016],
    [85, 4, 'skylake', 2017],
    [85, undefined, 'skylake', 2017],
    [85, 5, 'cascadelake', 2019],
    [85, 7, 'cascadelake', 2019],
    [85, 11, 'cascadelake', 2020],
    [158, 9, 'kabylake', 2017],
    [158, 10, 'coffeelake', 2018],
    [106, 6, 'icelake', 2021],
    [108, 1, 'icelake', 2022],
    [143, 8, 'sapphirerapids', 2023],
    [207, 2, 'emeraldrapids', 2023],
    [173, 1, 'graniterapids', 2024],
    [15, 11, 'core', 2006],
  ];
  for (const [model, stepping, key, year] of intel) {
    test(`Intel family 6 model ${model} stepping ${stepping} is ${key} ${year}`, () => {
      assert.deepEqual(microarchitectureOf('intel', 6, model, stepping), { key, year });
    });
  }

  test('AMD families 0x10 to 0x1a', () => {
    assert.deepEqual(microarchitectureOf('amd', 0x17, 0x01), { key: 'epyc-gen1', year: 2017 });
    assert.deepEqual(microarchitectureOf('amd', 0x17, 0x31), { key: 'epyc-gen2', year: 2019 });
    assert.deepEqual(microarchitectureOf('amd', 0x19, 0x01), { key: 'epyc-gen3', year: 2021 });
    assert.deepEqual(microarchitectureOf('amd', 0x19, 0x11), { key: 'epyc-gen4', year: 2022 });
    assert.deepEqual(microarchitectureOf('amd', 0x19, 0xa0), { key: 'bergamo', year: 2023 });
    assert.deepEqual(microarchitectureOf('amd', 0x1a, 0x02), { key: 'epyc-gen5', year: 2024 });
    assert.deepEqual(microarchitectureOf('amd', 0x10, 0x09), { key: 'opteron', year: 2010 });
    assert.deepEqual(microarchitectureOf('amd', 0x15, 0x01), { key: 'opteron', year: 2011 });
  });

  test('unknown signatures, other vendors and non-integers are undefined', () => {
    assert.equal(microarchitectureOf('intel', 6, 6), undefined, 'QEMU Virtual CPU');
    assert.equal(microarchitectureOf('intel', 15, 4), undefined, 'NetBurst');
    assert.equal(microarchitectureOf('amd', 0x19, 0x90), undefined);
    assert.equal(microarchitectureOf('amd', 0x12, 0x01), undefined);
    assert.equal(microarchitectureOf('arm', 6, 85), undefined);
    assert.equal(microarchitectureOf('intel', Number.NaN, 85), undefined);
  });
});

describe('armCoreOf', () => {
  test('Arm and Ampere parts, as numbers or the hex strings cpuinfo prints', () => {
    assert.deepEqual(armCoreOf(0x41, 0xd08), { key: 'cortex-a72', name: 'ARM Cortex-A72', year: 2015, coreWatts: 1.0 });
    assert.deepEqual(armCoreOf('0x41', '0xd0c'), { key: 'neoverse-n1', name: 'ARM Neoverse-N1', year: 2020, coreWatts: 1.8 });
    assert.deepEqual(armCoreOf('0x41', '0xd03'), { key: 'cortex-a53', name: 'ARM Cortex-A53', year: 2014 });
    assert.equal(armCoreOf(0x41, 0xd0b)?.key, 'cortex-a76');
    assert.equal(armCoreOf(0x41, 0xd40)?.key, 'neoverse-v1');
    assert.equal(armCoreOf(0x41, 0xd49)?.key, 'neoverse-n2');
    assert.equal(armCoreOf(0x41, 0xd4f)?.key, 'neoverse-v2');
    assert.deepEqual(armCoreOf('0xc0', '0xac3'), { key: 'ampereone', name: 'AmpereOne', year: 2023 });
    assert.equal(armCoreOf(0x6d, 0xd49)?.key, 'neoverse-n2', 'Azure Cobalt 100 has its own implementer id');
  });

  test('unknown parts and garbage are undefined', () => {
    assert.equal(armCoreOf(0x41, 0xfff), undefined);
    assert.equal(armCoreOf(0x99, 0xd08), undefined);
    assert.equal(armCoreOf('zz', '0xd08'), undefined);
    assert.equal(armCoreOf(0x41, -1), undefined);
  });
});

describe('normaliseCpuName', () => {
  test('strips (R), (TM), CPU, Processor, clocks, core counts and vendor remarks', () => {
    assert.equal(normaliseCpuName('Intel(R) Xeon(R) Gold 6140 CPU @ 2.30GHz'), 'Intel Xeon Gold 6140');
    assert.equal(normaliseCpuName('AMD EPYC 7763 64-Core Processor'), 'AMD EPYC 7763');
    assert.equal(normaliseCpuName('Intel Xeon E5-2660 2.2 GHz (Intel Turbo Boost Technology up to 3.00 GHz)'), 'Intel Xeon E5-2660');
    assert.equal(normaliseCpuName('AMD EPYC 7601 2.20 GHz, Dell SKU [338-BNCG]'), 'AMD EPYC 7601');
    assert.equal(normaliseCpuName('Quad-Core AMD Opteron(r) Processor 8376 HE'), 'AMD Opteron 8376 HE');
    assert.equal(normaliseCpuName('Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz'), 'Intel Core i7-8700K');
  });
});

describe('lookupCpuModel', () => {
  const cases: [string, number, number, number, string][] = [
    ['Intel(R) Xeon(R) Gold 6140 CPU @ 2.30GHz', 140, 18, 2017, 'skylake'],
    ['Intel Xeon Platinum 8180 2.50 GHz', 205, 28, 2017, 'skylake'],
    ['Intel Xeon Platinum 8176M', 165, 28, 2017, 'skylake'],
    ['Intel Xeon Platinum 8280L 2.70GHz', 205, 28, 2019, 'cascadelake'],
    ['Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz', 205, 24, 2020, 'cascadelake'],
    ['Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz', 150, 20, 2019, 'cascadelake'],
    ['Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz', 270, 40, 2021, 'icelake'],
    ['Intel(R) Xeon(R) Platinum 8480+', 350, 56, 2023, 'sapphirerapids'],
    ['INTEL(R) XEON(R) PLATINUM 8592+', 350, 64, 2023, 'emeraldrapids'],
    ['Intel(R) Xeon(R) 6980P', 500, 128, 2024, 'graniterapids'],
    ['Intel Xeon E5-2699 v4 2.20 GHz', 145, 22, 2016, 'broadwell'],
    ['Intel(R) Xeon(R) CPU E5-2699 v3 @ 2.30GHz', 145, 18, 2014, 'haswell'],
    ['Intel Xeon E5-2660V2', 95, 10, 2013, 'ivybridge'],
    ['Intel Xeon E5-2660 (2.20GHz)', 95, 8, 2012, 'sandybridge'],
    ['Intel(R) Xeon(R) CPU           X5670  @ 2.93GHz', 95, 6, 2010, 'nehalem'],
    ['Intel Xeon E-2176G', 80, 6, 2018, 'coffeelake'],
    ['AMD EPYC 7601 2.20 GHz, Dell SKU [338-BNCG]', 180, 32, 2017, 'epyc-gen1'],
    ['AMD EPYC 7742 64-Core Processor', 225, 64, 2019, 'epyc-gen2'],
    ['AMD EPYC 7763 64-Core Processor', 280, 64, 2021, 'epyc-gen3'],
    ['AMD EPYC 7713P 64-Core Processor', 225, 64, 2021, 'epyc-gen3'],
    ['AMD EPYC 9654 96-Core Processor', 360, 96, 2022, 'epyc-gen4'],
    ['AMD EPYC 9754 128-Core Processor', 360, 128, 2023, 'bergamo'],
    ['Ampere Altra Q80-30', 210, 80, 2020, 'neoverse-n1'],
  ];
  for (const [name, tdp, cores, year, arch] of cases) {
    test(name, () => {
      const f = lookupCpuModel(name);
      assert.ok(f, `${name} should be in the catalog`);
      assert.deepEqual([f.tdpWatts, f.coresPerChip, f.year, f.architecture, f.tdpSource], [tdp, cores, year, arch, 'published']);
    });
  }

  test('cloud SKUs carry the TDP of a named retail sibling', () => {
    const cloud: [string, number, number, string, string][] = [
      ['Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz', 24, 2017, 'skylake', 'Xeon Platinum 8168'],
      ['Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz', 24, 2019, 'cascadelake', 'Xeon Platinum 8260'],
      ['Intel(R) Xeon(R) Platinum 8275CL CPU @ 3.00GHz', 24, 2019, 'cascadelake', 'Xeon Platinum 8268'],
      ['Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz', 32, 2021, 'icelake', 'Xeon Platinum 8362'],
      ['Intel(R) Xeon(R) Platinum 8488C', 48, 2023, 'sapphirerapids', 'Xeon Platinum 8468'],
      ['Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz', 48, 2023, 'sapphirerapids', 'Xeon Platinum 8468'],
      ['AMD EPYC 7R32', 48, 2020, 'epyc-gen2', 'EPYC 7642'],
      ['AMD EPYC 7B12', 64, 2020, 'epyc-gen2', 'EPYC 7742'],
      ['AMD EPYC 7R13 Processor', 48, 2021, 'epyc-gen3', 'EPYC 7643'],
      ['AMD EPYC 7B13', 64, 2021, 'epyc-gen3', 'EPYC 7763'],
      ['AMD EPYC 9R14 96-Core Processor', 96, 2023, 'epyc-gen4', 'EPYC 9654'],
    ];
    for (const [name, cores, year, arch, sibling] of cloud) {
      const f = lookupCpuModel(name);
      assert.ok(f, name);
      assert.deepEqual([f.coresPerChip, f.year, f.architecture, f.tdpSource, f.sibling], [cores, year, arch, 'sibling', sibling], name);
      assert.equal(f.tdpWatts, lookupCpuModel(sibling)?.tdpWatts, `${name}: the sibling's TDP`);
    }
  });

  test('near misses are not matched: other suffixes, other numbers, partial numbers', () => {
    for (const name of [
      'Intel Xeon Platinum 8480', // only 8480+ exists
      'Intel Xeon Gold 6138F', // F (fabric) parts have a different TDP
      'Intel Xeon Gold 61400',
      'Intel Xeon E5-2699 v5',
      'AMD EPYC 77630',
      'Intel Xeon Gold 9999',
      'Intel Core i7-8700K',
      '',
    ]) {
      assert.equal(lookupCpuModel(name), undefined, name);
    }
  });

  test('every catalog row is found by its own name, is plausible, and names an existing sibling', () => {
    const skus = catalogSkus();
    assert.ok(skus.length >= 50, `only ${skus.length} SKUs`);
    const seen = new Set<string>();
    for (const f of skus) {
      assert.ok(!seen.has(f.sku), `${f.sku} twice`);
      seen.add(f.sku);
      assert.equal(lookupCpuModel(f.sku)?.sku, f.sku, `${f.sku} is shadowed by another row`);
      assert.ok(f.tdpWatts >= 5 && f.tdpWatts <= 500, `${f.sku} TDP ${f.tdpWatts}`);
      assert.ok(Number.isInteger(f.coresPerChip) && f.coresPerChip >= 4 && f.coresPerChip <= 192, `${f.sku} cores ${f.coresPerChip}`);
      assert.ok(f.year >= 2009 && f.year <= 2025, `${f.sku} year ${f.year}`);
      assert.equal(inferMicroarchitectureFromName(f.sku)?.key, f.architecture, `${f.sku}: naming rules and table disagree`);
      if (f.tdpSource === 'sibling') {
        const s = lookupCpuModel(f.sibling ?? '');
        assert.ok(s && s.tdpSource === 'published', `${f.sku}: sibling ${f.sibling} missing`);
        assert.equal(s.architecture, f.architecture, `${f.sku}: sibling of another generation`);
      }
    }
  });
});

describe('inferMicroarchitectureFromName', () => {
  // Names as SPECpower prints them, with the architecture its data gives them.
  const cases: [string, string | undefined][] = [
    ['Intel Xeon E5-2699 v4', 'broadwell'],
    ['Intel Xeon E5-2698 V4', 'broadwell'],
    ['Intel Xeon E5-2699 v3 2.30 GHz', 'haswell'],
    ['Intel Xeon E3-1265Lv3', 'haswell'],
    ['Intel Xeon E5-2660V2', 'ivybridge'],
    ['Intel Xeon E3-1220v2 (Intel Turbo Boost Technology up to 3.50 GHz)', 'ivybridge'],
    ['Intel Xeon E5-2470 2.30 GHz (Intel Turbo Boost Technology up to 3.10 GHz)', 'sandybridge'],
    ['Intel Xeon E3-1260L', 'sandybridge'],
    ['Intel Xeon X5670', 'nehalem'],
    ['Intel Xeon E5620', 'nehalem'],
    ['Intel Xeon E7-4870', 'nehalem'],
    ['Intel Xeon X3470', 'nehalem'],
    ['Intel(R) Xeon(R) CPU X5570', 'nehalem'],
    ['Intel Xeon Platinum 8180 @2.50 GHz', 'skylake'],
    ['Intel E3-1260L v5', 'skylake'],
    ['Intel Xeon Platinum 8280L 2.70GHz', 'cascadelake'],
    ['Intel Xeon Gold 6348H', 'cascadelake'],
    ['Intel Xeon Gold 6338', 'icelake'],
    ['Intel Xeon Gold 6438Y+', 'sapphirerapids'],
    ['Intel Xeon Platinum 8592+', 'emeraldrapids'],
    ['Intel Xeon 6780E', 'sierraforest'],
    ['Intel Xeon E3-1230 v6', 'kabylake'],
    ['Intel Xeon E-2176G', 'coffeelake'],
    ['Intel Xeon processor E5345', 'core'],
    ['Intel X3350', 'core'],
    ['Intel Xeon 5160', 'core'],
    ['Xeon L5420', 'core'],
    ['Intel Core i5-4570', 'haswell'],
    ['Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz', 'coffeelake'],
    ['Intel(R) Core(TM) i7-1065G7 CPU @ 1.30GHz', 'icelake'],
    ['12th Gen Intel(R) Core(TM) i7-12700K', 'alderlake'],
    ['Intel Core i3-540', 'nehalem'],
    ['Intel Core 2 Duo E8400', 'core'],
    ['AMD EPYC 7601 2.20 GHz, Dell SKU [338-BNCG]', 'epyc-gen1'],
    ['AMD EPYC 7551P 2.0 GHz', 'epyc-gen1'],
    ['AMD EPYC 7742', 'epyc-gen2'],
    ['AMD EPYC 7R32', 'epyc-gen2'],
    ['AMD EPYC 7763', 'epyc-gen3'],
    ['AMD EPYC 7R13 Processor', 'epyc-gen3'],
    ['AMD EPYC 9654', 'epyc-gen4'],
    ['AMD EPYC 9R14', 'epyc-gen4'],
    ['AMD EPYC 9754', 'bergamo'],
    ['AMD EPYC 9965 192-Core Processor', 'epyc-gen5'],
    ['Quad-Core AMD Opteron(r) Processor 8376 HE', 'opteron'],
    ['2.6 GHz AMD Opteron 2435', 'opteron'],
    ['AMD Ryzen 9 5950X 16-Core Processor', 'epyc-gen3'],
    ['AMD Ryzen 7 7840HS', 'epyc-gen4'],
    ['ARM Neoverse-N1', 'neoverse-n1'],
    ['AWS Graviton3', 'neoverse-v1'],
    ['Ampere Altra Max M128-30', 'neoverse-n1'],
    ['Raspberry Pi 4 Model B Rev 1.4', 'cortex-a72'],
    ['Intel Xeon 3.8GHz', undefined],
    ['Intel Xeon Processor 7020', undefined],
    ['Intel Pentium D Processor 930', undefined],
    ['QEMU Virtual CPU version 2.5+', undefined],
    ['', undefined],
  ];
  for (const [name, key] of cases) {
    test(`${JSON.stringify(name)} -> ${key}`, () => {
      assert.equal(inferMicroarchitectureFromName(name)?.key, key);
    });
  }

  test('years follow the part, not only the generation', () => {
    assert.deepEqual(inferMicroarchitectureFromName('Intel Xeon Gold 6248R'), { key: 'cascadelake', year: 2020 });
    assert.deepEqual(inferMicroarchitectureFromName('Intel Xeon Gold 6248'), { key: 'cascadelake', year: 2019 });
    assert.deepEqual(inferMicroarchitectureFromName('AMD EPYC 7773X'), { key: 'epyc-gen3', year: 2022 });
    assert.deepEqual(inferMicroarchitectureFromName('Intel Xeon E5-2699 v4'), { key: 'broadwell', year: 2016 });
  });
});
