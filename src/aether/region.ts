// Where a container runs, for aether's emission factors. Pure functions over a series' labels.
//
// The Go plugin takes the `region` label, else parses the `instance` label (Kepler 0.7 set it to
// the node name): a GKE node name holds the region, and an AWS private DNS name has it as its
// second part. We keep those rules and add the node labels that Kubernetes service discovery
// brings when relabelled onto the series, the REGION setting, and `node_name` (the current
// family's node label, since there `instance` is the scrape address).

export interface Placement {
  region?: string;
  zone?: string;
  /** Which label or rule gave the region, for logs. */
  from?: string;
}

// Prometheus label names of the well-known node labels (dots and slashes become underscores),
// kube-state-metrics' `label_` prefixed form, and the raw names UTF-8 Prometheus can keep.
const REGION_LABELS = [
  'region',
  'topology_kubernetes_io_region',
  'label_topology_kubernetes_io_region',
  'topology.kubernetes.io/region',
  'failure_domain_beta_kubernetes_io_region',
  'label_failure_domain_beta_kubernetes_io_region',
];
const ZONE_LABELS = [
  'topology_kubernetes_io_zone',
  'label_topology_kubernetes_io_zone',
  'topology.kubernetes.io/zone',
  'failure_domain_beta_kubernetes_io_zone',
  'label_failure_domain_beta_kubernetes_io_zone',
];
const GKE_REGION = /(europe|asia|australia|southamerica|me|africa|us)-[a-z]+[0-9]+/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
/** A region the way clouds write them in host names: eu-central-1, us-gov-west-1, ap-southeast-2. */
const CLOUD_REGION = /^[a-z]{2,}(-[a-z]+)+-\d+$/;

export function placementOf(labels: Record<string, string>, defaultRegion?: string): Placement {
  const zone = firstLabel(labels, ZONE_LABELS)?.value;
  const labelled = firstLabel(labels, REGION_LABELS);
  if (labelled) return { region: labelled.value, zone, from: `label ${labelled.name}` };
  if (defaultRegion) return { region: defaultRegion, zone, from: 'REGION' };
  // An `instance` with a port is a scrape address (`kepler.monitoring.svc:28282`), not a node.
  const instance = labels.instance && !/:\d+$/.test(labels.instance) ? labels.instance : undefined;
  for (const [name, value] of [
    ['instance', instance],
    ['node_name', labels.node_name],
  ]) {
    const region = value ? regionFromNodeName(value) : undefined;
    if (region) return { region, zone, from: `label ${name}` };
  }
  return { zone };
}

/**
 * The Go plugin's rules: `gke-gc0-apps-us-central1-default-f0c26727-1irq` -> `us-central1`,
 * `ip-10-12-12-154.eu-central-1.compute.internal` -> `eu-central-1`; the second part must look
 * like a region. An address names no region, and AWS's us-east-1 names are `ip-....ec2.internal`.
 */
export function regionFromNodeName(name: string): string | undefined {
  if (name.startsWith('gke-')) return GKE_REGION.exec(name)?.[0];
  if (IPV4.test(name) || name.includes(':')) return undefined;
  const parts = name.split('.');
  if (parts.length < 2 || parts[1] === '') return undefined;
  if (parts[1] === 'ec2' && parts[2] === 'internal') return 'us-east-1';
  // The Go plugin takes any second label; `worker-1.lab.example.com` is not in region "lab".
  return CLOUD_REGION.test(parts[1]) ? parts[1] : undefined;
}

function firstLabel(labels: Record<string, string>, names: string[]): { name: string; value: string } | undefined {
  for (const name of names) if (labels[name]) return { name, value: labels[name] };
  return undefined;
}
