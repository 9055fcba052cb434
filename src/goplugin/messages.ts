// The protobuf messages of the services every go-plugin plugin serves (go-plugin's
// internal/plugin/*.proto, grpc's health.proto), written and read by hand, and grpc-js method
// definitions over them. Each message is a few scalar fields: protobufjs and @grpc/proto-loader
// would load a reflection runtime and generate code at start-up for them (about 5 MiB of a
// plugin's memory). Decoding gives what @grpc/proto-loader gives (keepCase, enums as names,
// defaults filled in, an unset message as null) and skips unknown fields; encoding writes every
// field that is set, in field-number order, as protobufjs does.

import type * as grpc from '@grpc/grpc-js';

export interface Codec<T> {
  encode: (value: T) => Buffer;
  decode: (bytes: Buffer) => T;
}

/** A method of a gRPC service: its path, its messages, whether each side streams. */
export function method<Req, Res>(
  path: string,
  request: Codec<Req>,
  response: Codec<Res>,
  streams: { request?: boolean; response?: boolean } = {},
): grpc.MethodDefinition<Req, Res> {
  return {
    path,
    requestStream: streams.request === true,
    responseStream: streams.response === true,
    requestSerialize: request.encode,
    requestDeserialize: request.decode,
    responseSerialize: response.encode,
    responseDeserialize: response.decode,
  };
}

// ---------------------------------------------------------------- reading and writing fields

const VARINT = 0;
const LEN = 2;

/** Each field of a message: its number and its value (a number for a varint, the bytes of a length-delimited field). */
export function readFields(bytes: Buffer, onField: (field: number, value: number | Buffer) => void): void {
  let pos = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 1; ; shift *= 128) {
      if (pos >= bytes.length) throw new RangeError('protobuf: message ends inside a varint');
      const b = bytes[pos++];
      value += (b & 0x7f) * shift;
      if (b < 0x80) return value;
    }
  };
  while (pos < bytes.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === VARINT) {
      onField(field, varint());
    } else if (wire === LEN) {
      const length = varint();
      if (pos + length > bytes.length) throw new RangeError('protobuf: field runs past the message');
      onField(field, bytes.subarray(pos, pos + length));
      pos += length;
    } else if (wire === 1 || wire === 5) {
      pos += wire === 1 ? 8 : 4; // fixed64, fixed32: no message here has one
      if (pos > bytes.length) throw new RangeError('protobuf: field runs past the message');
    } else {
      throw new RangeError(`protobuf: wire type ${wire} is not one to read`);
    }
  }
}

/** Writes fields in order; `finish()` gives the message. */
export class FieldWriter {
  private readonly parts: number[] = [];
  private readonly chunks: Buffer[] = [];

  varint(field: number, value: number): this {
    this.key(field, VARINT);
    this.rawVarint(value);
    return this;
  }

  bytes(field: number, value: Buffer | string): this {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    this.key(field, LEN);
    this.rawVarint(bytes.length);
    this.flush();
    this.chunks.push(bytes);
    return this;
  }

  finish(): Buffer {
    this.flush();
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
  }

  private key(field: number, wire: number): void {
    this.rawVarint(field * 8 + wire);
  }

  private rawVarint(value: number): void {
    for (; value >= 0x80; value = Math.floor(value / 128)) this.parts.push((value & 0x7f) | 0x80);
    this.parts.push(value);
  }

  private flush(): void {
    if (this.parts.length === 0) return;
    this.chunks.push(Buffer.from(this.parts));
    this.parts.length = 0;
  }
}

const text = (value: number | Buffer): string => (typeof value === 'number' ? '' : value.toString('utf8'));
const NOTHING = Buffer.alloc(0);

/** An enum: its names by number, as @grpc/proto-loader gives them (an unknown number stays a number). */
function enumCodec<Name extends string>(names: readonly Name[]) {
  return {
    toNumber: (value: Name | number | undefined): number => (typeof value === 'number' ? value : Math.max(0, names.indexOf(value ?? names[0]))),
    toName: (value: number): Name | number => names[value] ?? value,
  };
}

// ---------------------------------------------------------------- the messages

/** google.protobuf.Empty, plugin.Empty, proto.Empty: nothing, whatever was sent. */
export const EMPTY: Codec<object> = {
  encode: () => NOTHING,
  decode: () => ({}),
};

/** grpc.health.v1.HealthCheckRequest { string service = 1; } */
export const HEALTH_CHECK_REQUEST: Codec<{ service: string }> = {
  encode: (m) => (m.service == null ? NOTHING : new FieldWriter().bytes(1, m.service).finish()),
  decode: (bytes) => {
    const m = { service: '' };
    readFields(bytes, (field, value) => {
      if (field === 1) m.service = text(value);
    });
    return m;
  },
};

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
const SERVING_STATUS = enumCodec<ServingStatus>(['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN']);

/** grpc.health.v1.HealthCheckResponse { ServingStatus status = 1; } */
export const HEALTH_CHECK_RESPONSE: Codec<{ status: ServingStatus | number }> = {
  encode: (m) => (m.status == null ? NOTHING : new FieldWriter().varint(1, SERVING_STATUS.toNumber(m.status)).finish()),
  decode: (bytes) => {
    const m: { status: ServingStatus | number } = { status: 'UNKNOWN' };
    readFields(bytes, (field, value) => {
      if (field === 1 && typeof value === 'number') m.status = SERVING_STATUS.toName(value);
    });
    return m;
  },
};

export interface Knock {
  knock: boolean;
  ack: boolean;
  error: string;
}

export interface ConnInfo {
  service_id: number;
  network: string;
  address: string;
  knock: Knock | null;
}

const KNOCK: Codec<Knock> = {
  encode: (m) => {
    const w = new FieldWriter();
    if (m.knock != null) w.varint(1, m.knock ? 1 : 0);
    if (m.ack != null) w.varint(2, m.ack ? 1 : 0);
    if (m.error != null) w.bytes(3, m.error);
    return w.finish();
  },
  decode: (bytes) => {
    const m: Knock = { knock: false, ack: false, error: '' };
    readFields(bytes, (field, value) => {
      if (field === 1) m.knock = value !== 0;
      else if (field === 2) m.ack = value !== 0;
      else if (field === 3) m.error = text(value);
    });
    return m;
  },
};

/** plugin.ConnInfo { uint32 service_id = 1; string network = 2; string address = 3; Knock knock = 4; } */
export const CONN_INFO: Codec<ConnInfo> = {
  encode: (m) => {
    const w = new FieldWriter();
    if (m.service_id != null) w.varint(1, m.service_id >>> 0);
    if (m.network != null) w.bytes(2, m.network);
    if (m.address != null) w.bytes(3, m.address);
    if (m.knock != null) w.bytes(4, KNOCK.encode(m.knock));
    return w.finish();
  },
  decode: (bytes) => {
    const m: ConnInfo = { service_id: 0, network: '', address: '', knock: null };
    readFields(bytes, (field, value) => {
      if (field === 1 && typeof value === 'number') m.service_id = value >>> 0;
      else if (field === 2) m.network = text(value);
      else if (field === 3) m.address = text(value);
      else if (field === 4 && typeof value !== 'number') m.knock = KNOCK.decode(value);
    });
    return m;
  },
};

export type StdioChannel = 'INVALID' | 'STDOUT' | 'STDERR';
const STDIO_CHANNEL = enumCodec<StdioChannel>(['INVALID', 'STDOUT', 'STDERR']);

/** plugin.StdioData { Channel channel = 1; bytes data = 2; } */
export const STDIO_DATA: Codec<{ channel: StdioChannel | number; data: Buffer }> = {
  encode: (m) => {
    const w = new FieldWriter();
    if (m.channel != null) w.varint(1, STDIO_CHANNEL.toNumber(m.channel));
    if (m.data != null) w.bytes(2, m.data);
    return w.finish();
  },
  decode: (bytes) => {
    const m: { channel: StdioChannel | number; data: Buffer } = { channel: 'INVALID', data: NOTHING };
    readFields(bytes, (field, value) => {
      if (field === 1 && typeof value === 'number') m.channel = STDIO_CHANNEL.toName(value);
      else if (field === 2 && typeof value !== 'number') m.data = Buffer.from(value);
    });
    return m;
  },
};
