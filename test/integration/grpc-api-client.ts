import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { type DecodedStatus, decodeStatusBin } from '../env/google-rpc.js';

/**
 * A raw grpc-js client of `dapr.proto.runtime.v1.Dapr` built from Dapr's own dapr.proto (shipped
 * in @dapr/dapr), so the sidecar's messages are decoded by code that is not ours, plus helpers
 * to read `google.rpc` error details. Shared by the gRPC API tests.
 */

const require = createRequire(import.meta.url);
/** The proto folder shipped in @dapr/dapr. */
export const PROTO_ROOT = require.resolve('@dapr/dapr/package.json').replace(/package\.json$/, 'proto');
/** proto-loader options for Dapr's protos (field names as in the .proto, enums as names). */
export const LOAD = {
  includeDirs: [PROTO_ROOT],
  keepCase: true,
  enums: String,
  defaults: true,
  longs: String,
};

type Ctor = new (address: string, creds: grpc.ChannelCredentials) => grpc.Client;
const runtime = (
  grpc.loadPackageDefinition(loadSync('dapr/proto/runtime/v1/dapr.proto', LOAD)) as unknown as {
    dapr: { proto: { runtime: { v1: { Dapr: Ctor } } } };
  }
).dapr.proto.runtime.v1;

/** A Dapr client on `127.0.0.1:<port>` or on a grpc-js target (`unix:/path`); close it with `close()`. */
export function dialDapr(target: number | string): grpc.Client {
  const address = typeof target === 'number' ? `127.0.0.1:${target}` : target;
  return new runtime.Dapr(address, grpc.credentials.createInsecure());
}

/** The result of one unary call, with the response's header and trailer metadata. */
export interface GrpcAnswer {
  readonly err: grpc.ServiceError | null;
  readonly res: Record<string, unknown> | undefined;
  readonly headers: grpc.Metadata | undefined;
  readonly trailers: grpc.Metadata | undefined;
}

type Unary = (
  req: unknown,
  md: grpc.Metadata,
  cb: (err: grpc.ServiceError | null, res?: unknown) => void,
) => grpc.ClientUnaryCall;

/**
 * Calls `method` with `req` (field names as in the .proto); `auth` is the metadata to send, or a
 * token sent as `dapr-api-token`.
 */
export function grpcCall(
  client: grpc.Client,
  method: string,
  req: unknown,
  auth?: string | grpc.Metadata,
): Promise<GrpcAnswer> {
  const md = auth instanceof grpc.Metadata ? auth : new grpc.Metadata();
  if (typeof auth === 'string') md.set('dapr-api-token', auth);
  return new Promise((resolve) => {
    let headers: grpc.Metadata | undefined;
    let answer: Pick<GrpcAnswer, 'err' | 'res'> = { err: null, res: undefined };
    const fn = (client as unknown as Record<string, Unary>)[method] as Unary;
    const call = fn.call(client, req, md, (err, res) => {
      answer = { err, res: res as Record<string, unknown> | undefined };
    });
    call.on('metadata', (m: grpc.Metadata) => {
      headers = m;
    });
    // grpc-js emits the status, with the trailers, right after the callback.
    call.on('status', (s: grpc.StatusObject) => resolve({ ...answer, headers, trailers: s.metadata }));
  });
}

/** Sends raw bytes as the request of `method` (e.g. bytes that are no valid message). */
export function grpcRawCall(
  client: grpc.Client,
  method: string,
  body: Buffer,
  token?: string,
): Promise<grpc.ServiceError | null> {
  const md = new grpc.Metadata();
  if (token !== undefined) md.set('dapr-api-token', token);
  return new Promise((resolve) =>
    client.makeUnaryRequest(
      `/dapr.proto.runtime.v1.Dapr/${method}`,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      md,
      {},
      (err) => resolve(err),
    ),
  );
}

/** The rich details of an error status, each decoded by its type (empty when none were sent). */
export function statusDetails(err: grpc.ServiceError): DecodedStatus['details'] {
  return decodeStatusBin(err.metadata)?.details ?? [];
}

/** Asserts an error status: its code, and its message (exactly, or by pattern). */
export function assertGrpcError(
  answer: GrpcAnswer,
  code: grpc.status,
  message?: string | RegExp,
): grpc.ServiceError {
  const err = answer.err;
  assert.ok(
    err !== null,
    `expected status ${grpc.status[code]}, the call succeeded: ${JSON.stringify(answer.res)}`,
  );
  assert.equal(err.code, code, `expected ${grpc.status[code]}, got ${grpc.status[err.code]}: ${err.details}`);
  if (typeof message === 'string') assert.equal(err.details, message);
  else if (message !== undefined) assert.match(err.details, message);
  return err;
}

/** The official SDK's DaprClient over gRPC on `127.0.0.1:<port>`, started (it waits for the sidecar). */
export async function startSdkGrpcClient(port: number, token?: string): Promise<DaprClient> {
  const client = new DaprClient({
    daprHost: '127.0.0.1',
    daprPort: String(port),
    communicationProtocol: CommunicationProtocolEnum.GRPC,
    ...(token === undefined ? {} : { daprApiToken: token }),
    logger: { level: LogLevel.Error },
  });
  await client.start();
  return client;
}
