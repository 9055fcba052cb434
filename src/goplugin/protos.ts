// Protobuf definitions are kept as .proto text in the modules that use them and turned into
// grpc-js service definitions here: no .proto files to find at run time, so the plugin bundles
// into one file.

import * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import protobuf from 'protobufjs';

/** Field names as in the .proto (snake_case), int64 as JS numbers, enums as their names. */
const LOAD_OPTIONS = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

export function loadProtos(...sources: string[]): grpc.GrpcObject {
  const root = new protobuf.Root();
  for (const source of sources) protobuf.parse(source, root, { keepCase: true });
  return grpc.loadPackageDefinition(fromJSON(root.toJSON(), LOAD_OPTIONS));
}

/** The service definition of `package.Service` in what loadProtos returned. */
export function serviceDefinition(loaded: grpc.GrpcObject, fullName: string): grpc.ServiceDefinition {
  let node: unknown = loaded;
  for (const part of fullName.split('.')) node = (node as Record<string, unknown>)?.[part];
  const service = (node as grpc.ServiceClientConstructor | undefined)?.service;
  if (!service) throw new Error(`no service ${fullName} in the loaded protos`);
  return service;
}
