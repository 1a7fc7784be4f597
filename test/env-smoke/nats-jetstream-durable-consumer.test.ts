/**
 * Smoke test: the `nats` client's JetStream API against a private nats-server — create a stream,
 * publish, pull through a durable consumer and ack; the server then has nothing pending.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { NatsConnection } from 'nats';
import { AckPolicy, connect, StringCodec } from 'nats';
import type { NatsServer } from '../env/nats.js';
import { startNats } from '../env/nats.js';

let server: NatsServer;
let nc: NatsConnection;

before(async () => {
  server = await startNats();
  nc = await connect({ servers: server.url });
});

after(async () => {
  await nc?.close();
  await server?.stop();
});

test('a durable pull consumer receives published messages and their acks are recorded', async () => {
  const sc = StringCodec();
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
  await jsm.consumers.add('ORDERS', { durable_name: 'processor', ack_policy: AckPolicy.Explicit });

  const js = nc.jetstream();
  const sent = ['one', 'two', 'three'];
  for (const [i, body] of sent.entries()) {
    const ack = await js.publish(`orders.created.${i}`, sc.encode(body));
    assert.equal(ack.stream, 'ORDERS');
  }

  const consumer = await js.consumers.get('ORDERS', 'processor');
  const received: string[] = [];
  const batch = await consumer.fetch({ max_messages: sent.length, expires: 10_000 });
  for await (const msg of batch) {
    received.push(sc.decode(msg.data));
    assert.equal(await msg.ackAck(), true);
    if (received.length === sent.length) break;
  }
  assert.deepEqual(received, sent);

  const info = await jsm.consumers.info('ORDERS', 'processor');
  assert.equal(info.num_ack_pending, 0);
  assert.equal(info.num_pending, 0);
  assert.equal(info.delivered.stream_seq, sent.length);
});
