import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { formatSpiffeId } from '../../../sidecar/pki/spiffe-id.js';
import {
  grpcChannelCredentials,
  grpcPeerIdentity,
  grpcServerCredentials,
} from '../../../sidecar/security/grpc-credentials.js';
import type { WorkloadIdentity } from '../../../sidecar/security/workload-identity.js';
import type { SentryFixture } from './sentry-fixture.js';
import { startSentryFixture } from './sentry-fixture.js';

// A byte-level unary method: no proto needed to exercise the transport.
const whoAmI: grpc.MethodDefinition<Buffer, Buffer> = {
  path: '/outrigger.test.Identity/WhoAmI',
  requestStream: false,
  responseStream: false,
  requestSerialize: (b) => b,
  requestDeserialize: (b) => b,
  responseSerialize: (b) => b,
  responseDeserialize: (b) => b,
};
const service: grpc.ServiceDefinition = { WhoAmI: whoAmI };
const Client = grpc.makeGenericClientConstructor(service, 'Identity');

describe('internal gRPC over mTLS with sentry identities', () => {
  let fx: SentryFixture;
  let server: grpc.Server;
  let port: number;
  let orders: WorkloadIdentity;
  let checkout: WorkloadIdentity;

  before(async () => {
    fx = await startSentryFixture();
    orders = await fx.identity('orders');
    checkout = await fx.identity('checkout');
    await orders.start();
    await checkout.start();
    server = new grpc.Server();
    server.addService(service, {
      WhoAmI: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        try {
          const peer = grpcPeerIdentity(call, { trustDomains: ['public'] });
          cb(null, Buffer.from(formatSpiffeId(peer)));
        } catch (err) {
          cb({ code: grpc.status.PERMISSION_DENIED, details: (err as Error).message });
        }
      },
    });
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpcServerCredentials(orders), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
  });
  after(async () => {
    server?.forceShutdown();
    await fx?.close();
  });

  const call = (from: WorkloadIdentity, policy: { trustDomains: string[]; appIds?: string[] }) =>
    new Promise<string>((resolve, reject) => {
      const client = new Client(`127.0.0.1:${port}`, grpcChannelCredentials(from, policy), {
        'grpc.ssl_target_name_override': 'orders',
      });
      client.makeUnaryRequest(
        whoAmI.path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        { deadline: Date.now() + 5_000 },
        (err, res) => {
          client.close();
          if (err) reject(err);
          else resolve(res?.toString() ?? '');
        },
      );
    });

  it('the server sees the caller SPIFFE ID from the client certificate', async () => {
    assert.equal(
      await call(checkout, { trustDomains: ['public'], appIds: ['orders'] }),
      'spiffe://public/ns/default/checkout',
    );
  });

  it('the client refuses a server that is not the app it pinned', async () => {
    await assert.rejects(
      call(checkout, { trustDomains: ['public'], appIds: ['payments'] }),
      /UNAVAILABLE|app id "orders" is not allowed/,
    );
  });

  it('the server refuses a caller from another trust domain per call', async () => {
    const foreign = await fx.identity('mallory', { trustDomain: 'evil.example' });
    await foreign.start();
    await assert.rejects(call(foreign, { trustDomains: ['public'] }), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.PERMISSION_DENIED);
      assert.match(err.details, /trust domain "evil.example" is not trusted/);
      return true;
    });
  });

  it('keeps serving after both sides renew (no server rebuild)', async () => {
    const before = orders.current()?.leaf.serialNumber;
    await orders.renewNow();
    await checkout.renewNow();
    assert.notEqual(orders.current()?.leaf.serialNumber, before);
    assert.equal(await call(checkout, { trustDomains: ['public'] }), 'spiffe://public/ns/default/checkout');
  });
});
