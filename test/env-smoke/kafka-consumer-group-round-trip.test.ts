/**
 * Smoke test: kafkajs 2.2.4 talks to a real Kafka 4 broker — produce, consume through a consumer
 * group, and the group's committed offsets land in __consumer_offsets (which needs the single-node
 * replication settings startKafka writes).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import type { KafkaBroker } from '../env/kafka.js';
import { startKafka } from '../env/kafka.js';
import { waitUntil } from '../env/process.js';

// kafkajs 2 warns once about its v2 default partitioner; the warning is noise here.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

let broker: KafkaBroker;

before(async () => {
  broker = await startKafka();
});

after(async () => {
  await broker?.stop();
});

test('kafkajs produces to and consumes from Kafka 4 through a consumer group', async () => {
  const kafka = new Kafka({ clientId: 'env-smoke', brokers: broker.brokers, logLevel: logLevel.ERROR });
  const topic = `smoke-${Date.now()}`;
  const groupId = `${topic}-group`;
  const admin = kafka.admin();
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  try {
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic, numPartitions: 2, replicationFactor: 1 }],
      waitForLeaders: true,
    });

    await producer.connect();
    const sent = Array.from({ length: 10 }, (_, i) => ({ key: `k${i % 2}`, value: `message ${i}` }));
    await producer.send({ topic, messages: sent });

    const received: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      // A crash the consumer will not restart from would otherwise leave this test waiting forever.
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) reject(payload.error);
      });
      consumer
        .run({
          eachMessage: async ({ message }) => {
            received.push(message.value?.toString() ?? '');
            if (received.length === sent.length) resolve();
          },
        })
        .catch(reject);
    });
    assert.deepEqual([...received].sort(), sent.map((m) => m.value).sort());

    // Committing goes through the group coordinator and the __consumer_offsets topic. kafkajs
    // commits after each batch, so the last offset may land a moment after the last message.
    const committed = async (): Promise<number> => {
      const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
      return offsets.flatMap((t) => t.partitions).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    };
    await waitUntil(
      `group ${groupId} to commit offset ${sent.length}`,
      async () => (await committed()) === sent.length,
      30_000,
    );
    await consumer.stop();
    assert.equal(await committed(), sent.length);
  } finally {
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
});
