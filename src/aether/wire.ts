// aether's ListInstanceResponse in protobuf's wire format, written straight into one buffer of
// its exact size: one pass measures, the next writes. protobufjs's encoder (what the plugin used)
// builds a list of pending writes, one object per field, every label of every instance three
// times (the instance's and both metrics'), and at 5,000 containers that garbage was most of the
// plugin's memory and time. Here a label map that an instance shares with its metrics is written
// once and copied. The bytes are the same as protobufjs's: fields in field-number order, every
// field that is set written (proto3 defaults too), map entries in the order of Object.keys, text
// as UTF-8; a lone surrogate is written as U+FFFD, where protobufjs may write bytes that are not
// UTF-8 (which Go's decoder refuses). Pure.

import type { InstanceRequest, Metric, ResourceEmissions } from './instances.js';

// Tags: field number << 3 | wire type (0 varint, 1 64-bit, 2 length-delimited). All fit one byte.
const LEN = 2;
const tag = (field: number, wire: number) => (field << 3) | wire;
const RESPONSE_INSTANCES = tag(1, LEN);
const EMISSIONS_VALUE = tag(1, 1);
const EMISSIONS_UNIT = tag(2, LEN);
const ENTRY_KEY = tag(1, LEN);
const ENTRY_VALUE = tag(2, LEN);
const METRIC = {
  name: tag(1, LEN),
  usage: tag(2, 1),
  unit_amount: tag(3, 1),
  emissions: tag(4, LEN),
  labels: tag(5, LEN),
  unit: tag(6, LEN),
  updated_at: tag(7, 0),
  resource_type: tag(8, LEN),
  energy: tag(9, 1),
};
const INSTANCE = {
  provider: tag(1, LEN),
  service: tag(2, LEN),
  name: tag(3, LEN),
  region: tag(4, LEN),
  zone: tag(5, LEN),
  kind: tag(6, LEN),
  EmbodiedEmissions: tag(8, LEN),
  metrics: tag(9, LEN),
  labels: tag(10, LEN),
  id: tag(11, LEN),
  status: tag(12, LEN),
};
const INSTANCE_STRINGS_BEFORE = ['provider', 'service', 'name', 'region', 'zone', 'kind'] as const;
const INSTANCE_STRINGS_AFTER = ['id', 'status'] as const;

type Labels = Record<string, string>;

/** The ListInstanceResponse of `instances`, as grpc-js would send it (without its 5-byte frame header). */
export function encodeListInstanceResponse(response: { instances?: readonly InstanceRequest[] | null }): Buffer {
  const instances = response.instances ?? [];
  const sizes = new Array<number>(instances.length);
  const sizer = new Sizer();
  let total = 0;
  for (let i = 0; i < instances.length; i++) {
    sizes[i] = sizer.instance(instances[i]);
    total += 1 + varintSize(sizes[i]) + sizes[i];
  }
  const w = new WireWriter(Buffer.allocUnsafe(total), new Sizer());
  for (let i = 0; i < instances.length; i++) {
    w.byte(RESPONSE_INSTANCES);
    w.varint(sizes[i]);
    w.instance(instances[i]);
  }
  if (w.pos !== total) throw new Error(`ListInstanceResponse: wrote ${w.pos} bytes of ${total}`);
  return w.buf;
}

// ---------------------------------------------------------------- sizes

/** Bytes of a varint of `n`, a non-negative integer below 2^53. */
function varintSize(n: number): number {
  if (n < 0x10000000) return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
  let size = 4;
  for (n = Math.floor(n / 0x10000000); n > 0; n = Math.floor(n / 128)) size++;
  return size;
}

/** UTF-8 bytes of `s`; short ASCII strings (label names and most values) without a call into C++. */
function utf8Size(s: string): number {
  const n = s.length;
  if (n > 64) return Buffer.byteLength(s, 'utf8');
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, 'utf8');
  return n;
}

/** A field's value as protobufjs's fromObject() makes it text. */
const text = (value: unknown): string => (typeof value === 'string' ? value : String(value));

/** A length-delimited field's bytes after its tag. */
const delimited = (size: number) => varintSize(size) + size;

/** A Unix time or other int64 that a double holds exactly: written without BigInt. */
const safeInt64 = (n: number) => n >= 0 && n <= Number.MAX_SAFE_INTEGER;

/** int64 as protobufjs writes it (Long.fromValue): truncated, clamped, two's complement varint. */
function int64Bits(value: unknown): bigint {
  const n = Number(value);
  if (Number.isNaN(n)) return 0n;
  if (n <= -(2 ** 63)) return 1n << 63n;
  if (n + 1 >= 2 ** 63) return (1n << 63n) - 1n;
  return BigInt.asUintN(64, BigInt(Math.trunc(n)));
}

function int64Size(value: unknown): number {
  const n = Number(value);
  if (safeInt64(n)) return varintSize(Math.trunc(n));
  let bits = int64Bits(value);
  let size = 1;
  while (bits >= 0x80n) {
    bits >>= 7n;
    size++;
  }
  return size;
}

/** Sizes of messages and of label maps; a label map shared by an instance and its metrics is measured once. */
class Sizer {
  private lastLabels: Labels | undefined;
  private lastLabelsSize = 0;

  /** The entries of a map<string,string>, each with its one-byte tag. */
  labels(labels: Labels): number {
    if (labels === this.lastLabels) return this.lastLabelsSize;
    let size = 0;
    for (const key of Object.keys(labels)) size += 1 + delimited(entrySize(key, text(labels[key])));
    this.lastLabels = labels;
    this.lastLabelsSize = size;
    return size;
  }

  emissions(e: ResourceEmissions): number {
    let size = 0;
    if (e.value != null) size += 9;
    if (e.unit != null) size += 1 + delimited(utf8Size(text(e.unit)));
    return size;
  }

  metric(m: Metric): number {
    let size = 0;
    if (m.name != null) size += 1 + delimited(utf8Size(text(m.name)));
    if (m.usage != null) size += 9;
    if (m.unit_amount != null) size += 9;
    if (m.emissions != null) size += 1 + delimited(this.emissions(m.emissions));
    if (m.labels) size += this.labels(m.labels);
    if (m.unit != null) size += 1 + delimited(utf8Size(text(m.unit)));
    if (m.updated_at != null) size += 1 + int64Size(m.updated_at);
    if (m.resource_type != null) size += 1 + delimited(utf8Size(text(m.resource_type)));
    if (m.energy != null) size += 9;
    return size;
  }

  instance(i: InstanceRequest): number {
    let size = 0;
    for (const f of INSTANCE_STRINGS_BEFORE) if (i[f] != null) size += 1 + delimited(utf8Size(text(i[f])));
    if (i.EmbodiedEmissions != null) size += 1 + delimited(this.emissions(i.EmbodiedEmissions));
    if (i.metrics) for (const key of Object.keys(i.metrics)) size += 1 + delimited(metricEntrySize(key, this.metric(i.metrics[key])));
    if (i.labels) size += this.labels(i.labels);
    for (const f of INSTANCE_STRINGS_AFTER) if (i[f] != null) size += 1 + delimited(utf8Size(text(i[f])));
    return size;
  }
}

/** A map<string,Metric> entry: the key, then the metric as field 2. */
function metricEntrySize(key: string, metricSize: number): number {
  return 1 + delimited(utf8Size(key)) + 1 + delimited(metricSize);
}

/** A map<string,string> entry: the key, then the value. */
function entrySize(key: string, value: string): number {
  return 1 + delimited(utf8Size(key)) + 1 + delimited(utf8Size(value));
}

// ---------------------------------------------------------------- writing

class WireWriter {
  pos = 0;
  /** Where the last label map written lies in `buf`. */
  private written: { labels?: Labels; start: number; end: number } = { start: 0, end: 0 };

  constructor(
    readonly buf: Buffer,
    private readonly sizer: Sizer,
  ) {}

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  varint(n: number): void {
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  int64(value: unknown): void {
    const n = Number(value);
    if (safeInt64(n)) {
      this.varint(Math.trunc(n));
      return;
    }
    let bits = int64Bits(value);
    while (bits >= 0x80n) {
      this.buf[this.pos++] = Number(bits & 0x7fn) | 0x80;
      bits >>= 7n;
    }
    this.buf[this.pos++] = Number(bits);
  }

  double(t: number, value: unknown): void {
    this.buf[this.pos++] = t;
    this.buf.writeDoubleLE(Number(value), this.pos);
    this.pos += 8;
  }

  /** A string field: tag, length, UTF-8 (invalid UTF-16 written as U+FFFD, which proto3 decoders accept). */
  string(t: number, value: unknown): void {
    const s = text(value);
    const size = utf8Size(s);
    this.buf[this.pos++] = t;
    this.varint(size);
    if (size === s.length && size <= 64) {
      const { buf } = this;
      let p = this.pos;
      for (let i = 0; i < size; i++) buf[p++] = s.charCodeAt(i);
    } else {
      this.buf.write(s, this.pos, size, 'utf8');
    }
    this.pos += size;
  }

  /**
   * A map<string,string>'s entries. An instance and its metrics share one label map: its entries
   * are written once and copied for the others, with their tags (the one byte that differs) set.
   */
  labels(t: number, labels: Labels): void {
    const { buf } = this;
    if (labels === this.written.labels) {
      const { start, end } = this.written;
      const from = this.pos;
      buf.copy(buf, from, start, end);
      this.pos += end - start;
      for (let p = from; p < this.pos;) {
        buf[p++] = t;
        let length = 0;
        for (let shift = 1; ; shift *= 128) {
          const b = buf[p++];
          length += (b & 0x7f) * shift;
          if (b < 0x80) break;
        }
        p += length;
      }
      return;
    }
    const start = this.pos;
    for (const key of Object.keys(labels)) {
      const value = text(labels[key]);
      this.byte(t);
      this.varint(entrySize(key, value));
      this.string(ENTRY_KEY, key);
      this.string(ENTRY_VALUE, value);
    }
    this.written = { labels, start, end: this.pos };
  }

  emissions(t: number, e: ResourceEmissions): void {
    this.byte(t);
    this.varint(this.sizer.emissions(e));
    if (e.value != null) this.double(EMISSIONS_VALUE, e.value);
    if (e.unit != null) this.string(EMISSIONS_UNIT, e.unit);
  }

  metric(m: Metric): void {
    if (m.name != null) this.string(METRIC.name, m.name);
    if (m.usage != null) this.double(METRIC.usage, m.usage);
    if (m.unit_amount != null) this.double(METRIC.unit_amount, m.unit_amount);
    if (m.emissions != null) this.emissions(METRIC.emissions, m.emissions);
    if (m.labels) this.labels(METRIC.labels, m.labels);
    if (m.unit != null) this.string(METRIC.unit, m.unit);
    if (m.updated_at != null) {
      this.byte(METRIC.updated_at);
      this.int64(m.updated_at);
    }
    if (m.resource_type != null) this.string(METRIC.resource_type, m.resource_type);
    if (m.energy != null) this.double(METRIC.energy, m.energy);
  }

  instance(i: InstanceRequest): void {
    for (const f of INSTANCE_STRINGS_BEFORE) if (i[f] != null) this.string(INSTANCE[f], i[f]);
    if (i.EmbodiedEmissions != null) this.emissions(INSTANCE.EmbodiedEmissions, i.EmbodiedEmissions);
    if (i.metrics) {
      for (const key of Object.keys(i.metrics)) {
        const m = i.metrics[key];
        const size = this.sizer.metric(m);
        this.byte(INSTANCE.metrics);
        this.varint(metricEntrySize(key, size));
        this.string(ENTRY_KEY, key);
        this.byte(ENTRY_VALUE);
        this.varint(size);
        this.metric(m);
      }
    }
    if (i.labels) this.labels(INSTANCE.labels, i.labels);
    for (const f of INSTANCE_STRINGS_AFTER) if (i[f] != null) this.string(INSTANCE[f], i[f]);
  }
}
