// Virtual machines from the hypervisor's command line: qemu-system-*, qemu-kvm or .../bin/kvm.
// id from -uuid, else the name; name from `-name guest=<name>,...` or `-name <name>`.

export interface VmInfo {
  id: string;
  name: string;
  hypervisor: string;
}

/** Pure: the VM a process runs, from its argv (cmdline split on NUL), or undefined. */
export function vmFromCmdline(argv: string[], pid: number): VmInfo | undefined {
  if (argv.length === 0) return undefined;
  const exe = argv[0];
  const base = exe.slice(exe.lastIndexOf('/') + 1);
  const isQemu = base.startsWith('qemu-system-') || base === 'qemu-kvm' || exe.endsWith('bin/kvm');
  if (!isQemu) return undefined;
  let uuid = '';
  let name = '';
  for (let i = 1; i < argv.length - 1; i++) {
    if (argv[i] === '-uuid') uuid = argv[i + 1];
    else if (argv[i] === '-name') name = parseNameOption(argv[i + 1]);
  }
  return { id: uuid || name || `qemu-${pid}`, name, hypervisor: 'kvm' };
}

/** `-name guest=web-1,debug-threads=on` or `-name web-1` (qemu's own syntax, `,,` escapes a comma). */
function parseNameOption(value: string): string {
  // Left to right, ",," is a literal comma and a single "," separates options.
  const parts = value.match(/(?:[^,]|,,)+/g) ?? [''];
  const guest = parts.find((p) => p.startsWith('guest='));
  return (guest ? guest.slice('guest='.length) : parts[0]).replace(/,,/g, ',');
}
