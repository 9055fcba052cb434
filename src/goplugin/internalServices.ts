// The services every go-plugin gRPC plugin serves besides its own: health (the host's Ping),
// the controller (the host's Kill), the broker and stdio streams (opened by hosts at connect).
// Messages as in go-plugin's internal/plugin/*.proto and grpc's health.proto (below, the
// contract), written and read by messages.ts.

import * as grpc from '@grpc/grpc-js';
import { CONN_INFO, EMPTY, HEALTH_CHECK_REQUEST, HEALTH_CHECK_RESPONSE, method, STDIO_DATA } from './messages.js';

export const HEALTH_PROTO = `
syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
  rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
}`;

export const GO_PLUGIN_PROTO = `
syntax = "proto3";
package plugin;
message Empty {}
message ConnInfo {
  uint32 service_id = 1;
  string network = 2;
  string address = 3;
  message Knock { bool knock = 1; bool ack = 2; string error = 3; }
  Knock knock = 4;
}
message StdioData {
  enum Channel { INVALID = 0; STDOUT = 1; STDERR = 2; }
  Channel channel = 1;
  bytes data = 2;
}
service GRPCController { rpc Shutdown(Empty) returns (Empty); }
service GRPCBroker { rpc StartStream(stream ConnInfo) returns (stream ConnInfo); }
service GRPCStdio { rpc StreamStdio(google.protobuf.Empty) returns (stream StdioData); }`;

export const EMPTY_PROTO = `
syntax = "proto3";
package google.protobuf;
message Empty {}`;

const HEALTH: grpc.ServiceDefinition = {
  Check: method('/grpc.health.v1.Health/Check', HEALTH_CHECK_REQUEST, HEALTH_CHECK_RESPONSE),
  Watch: method('/grpc.health.v1.Health/Watch', HEALTH_CHECK_REQUEST, HEALTH_CHECK_RESPONSE, { response: true }),
};
const CONTROLLER: grpc.ServiceDefinition = { Shutdown: method('/plugin.GRPCController/Shutdown', EMPTY, EMPTY) };
const BROKER: grpc.ServiceDefinition = { StartStream: method('/plugin.GRPCBroker/StartStream', CONN_INFO, CONN_INFO, { request: true, response: true }) };
const STDIO: grpc.ServiceDefinition = { StreamStdio: method('/plugin.GRPCStdio/StreamStdio', EMPTY, STDIO_DATA, { response: true }) };

/** go-plugin registers the plugin's health under this name; hosts Ping it. */
export const PLUGIN_HEALTH_SERVICE = 'plugin';

type ServingStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

export interface InternalServicesHooks {
  /** The host asked us to stop (GRPCController.Shutdown). Called after the answer is sent. */
  onShutdownRequest(): void;
  onTrace(msg: string, fields?: Record<string, unknown>): void;
}

export class InternalServices {
  private readonly statuses = new Map<string, ServingStatus>([
    ['', 'SERVING'],
    [PLUGIN_HEALTH_SERVICE, 'SERVING'],
  ]);
  /** Open streams (health watches, broker, stdio), ended when we stop. */
  private readonly streams = new Set<grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>>();
  private readonly watches = new Map<grpc.ServerWritableStream<{ service: string }, unknown>, string>();

  constructor(private readonly hooks: InternalServicesHooks) {}

  register(server: grpc.Server): void {
    server.addService(HEALTH, {
      Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, done: grpc.sendUnaryData<unknown>) => {
        const status = this.statuses.get(call.request.service);
        if (status) done(null, { status });
        else done({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      },
      Watch: (call: grpc.ServerWritableStream<{ service: string }, unknown>) => {
        this.track(call);
        this.watches.set(call, call.request.service);
        call.on('cancelled', () => this.watches.delete(call));
        call.write({ status: this.statuses.get(call.request.service) ?? 'SERVICE_UNKNOWN' });
      },
    });
    server.addService(CONTROLLER, {
      Shutdown: (_call: grpc.ServerUnaryCall<unknown, unknown>, done: grpc.sendUnaryData<unknown>) => {
        this.hooks.onTrace('host asked the plugin to shut down');
        done(null, {});
        setImmediate(() => this.hooks.onShutdownRequest());
      },
    });
    // We offer no brokered connections; the stream stays open so the host's broker is content.
    server.addService(BROKER, {
      StartStream: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
        this.track(call);
        call.on('data', (info) => this.hooks.onTrace('broker message ignored', { info }));
        call.on('end', () => call.end());
      },
    });
    // Nothing writes to our stdout or stderr but the handshake and the logs, which the host reads
    // from the process itself; the stream stays open and quiet.
    server.addService(STDIO, {
      StreamStdio: (call: grpc.ServerWritableStream<unknown, unknown>) => this.track(call),
    });
  }

  /** Health goes NOT_SERVING and every open stream ends, so that the server can stop at once. */
  stopping(): void {
    for (const service of this.statuses.keys()) this.statuses.set(service, 'NOT_SERVING');
    for (const [watch, service] of this.watches) if (this.statuses.has(service)) watch.write({ status: 'NOT_SERVING' });
    for (const stream of this.streams) stream.end();
    this.streams.clear();
    this.watches.clear();
  }

  private track(call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>): void {
    this.streams.add(call);
    const forget = () => this.streams.delete(call);
    call.on('cancelled', forget);
    call.on('error', forget);
    call.on('finish', forget);
  }
}
