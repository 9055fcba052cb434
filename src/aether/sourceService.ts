// aether's `proto.Source` gRPC service over a KeplerSource. Messages as aether's plugin.proto
// (field numbers are the contract; InstanceRequest has no field 7): Empty by messages.ts,
// ListInstanceResponse by wire.ts.

import * as grpc from '@grpc/grpc-js';
import type { HclogLogger } from '../goplugin/hclogLogger.js';
import { EMPTY, method, type Codec } from '../goplugin/messages.js';
import type { InstanceRequest } from './instances.js';
import type { KeplerSource } from './keplerSource.js';
import { PrometheusError, type PrometheusFailure } from './prometheusClient.js';
import { encodeListInstanceResponse } from './wire.js';

/** aether's plugin.proto, the part a source plugin serves: the contract the hand-written messages keep (tests check them against it). */
export const AETHER_SOURCE_PROTO = `
syntax = "proto3";
package proto;
message Empty {}
message ResourceEmissions { double value = 1; string unit = 2; }
message Metric {
  string name = 1;
  double usage = 2;
  double unit_amount = 3;
  ResourceEmissions emissions = 4;
  map<string, string> labels = 5;
  string unit = 6;
  int64 updated_at = 7;
  string resource_type = 8;
  double energy = 9;
}
message InstanceRequest {
  string id = 11;
  string provider = 1;
  string service = 2;
  string name = 3;
  string region = 4;
  string zone = 5;
  string kind = 6;
  ResourceEmissions EmbodiedEmissions = 8;
  map<string, Metric> metrics = 9;
  map<string, string> labels = 10;
  string status = 12;
}
message ListInstanceResponse { repeated InstanceRequest instances = 1; }
service Source {
  rpc Fetch(Empty) returns (ListInstanceResponse);
  rpc Stop(Empty) returns (Empty);
}`;

/** aether's handshake: its source plugin loader's cookie and protocol version. */
export const AETHER_SOURCE_HANDSHAKE = {
  appProtocolVersion: 1,
  magicCookieKey: 'AETHER_SOURCE_PLUGIN',
  magicCookieValue: '9cf50efe-f360-4c46-997f-e1ce7317adaf',
};

const STATUS: Record<PrometheusFailure, grpc.status> = {
  unavailable: grpc.status.UNAVAILABLE,
  timeout: grpc.status.DEADLINE_EXCEEDED,
  cancelled: grpc.status.CANCELLED,
  unauthenticated: grpc.status.UNAUTHENTICATED,
  denied: grpc.status.PERMISSION_DENIED,
  rejected: grpc.status.FAILED_PRECONDITION,
  bad_response: grpc.status.INTERNAL,
};

/** Fetch's answer: only ever written here (aether's host reads it). */
const LIST_INSTANCE_RESPONSE: Codec<{ instances?: readonly InstanceRequest[] | null }> = {
  encode: encodeListInstanceResponse,
  decode: () => {
    throw new Error('proto.ListInstanceResponse is written by the plugin, never read');
  },
};

/** `proto.Source` as grpc-js serves it. */
export function sourceServiceDefinition(): grpc.ServiceDefinition {
  return {
    Fetch: method('/proto.Source/Fetch', EMPTY, LIST_INSTANCE_RESPONSE),
    Stop: method('/proto.Source/Stop', EMPTY, EMPTY),
  };
}

export function registerSourceService(server: grpc.Server, source: KeplerSource, logger: HclogLogger): void {
  server.addService(sourceServiceDefinition(), {
    Fetch: (call: grpc.ServerUnaryCall<unknown, unknown>, done: grpc.sendUnaryData<unknown>) => {
      // The host hanging up (or its deadline passing) cancels the queries.
      const cancelled = new AbortController();
      call.on('cancelled', () => cancelled.abort(new Error('the host cancelled the Fetch')));
      source.fetch(cancelled.signal).then(
        (instances) => done(null, { instances }),
        (err: unknown) => {
          const code = err instanceof PrometheusError ? STATUS[err.failure] : grpc.status.INTERNAL;
          const message = err instanceof Error ? err.message : String(err);
          // A Fetch the host gave up on is the host's news, not ours.
          if (code === grpc.status.CANCELLED) logger.warn('fetch cancelled by the host', { error: message });
          else logger.error('fetch failed', { error: message, code: grpc.status[code] });
          done({ code, details: message });
        },
      );
    },
    // aether never calls Stop; there is nothing to release between Fetches anyway.
    Stop: (_call: grpc.ServerUnaryCall<unknown, unknown>, done: grpc.sendUnaryData<unknown>) => {
      logger.debug('stop requested');
      done(null, {});
    },
  });
}
