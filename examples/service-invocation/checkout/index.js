// checkout: sends orders 1..ORDER_COUNT to order-processor through its own sidecar. The call goes
// to the sidecar's HTTP port with the `dapr-app-id` header naming the target app; the sidecar
// finds order-processor's sidecar, which hands the request to order-processor on POST /orders.
import { setTimeout as sleep } from 'node:timers/promises';

const sidecar = `http://localhost:${process.env.DAPR_HTTP_PORT ?? 3500}`;
const count = Number(process.env.ORDER_COUNT ?? 10);
const intervalMs = Number(process.env.ORDER_INTERVAL_MS ?? 1000);
const attempts = 20;

/** POSTs one order; retries while order-processor (or its sidecar) is still starting. */
async function sendOrder(order) {
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const res = await fetch(`${sidecar}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'dapr-app-id': 'order-processor' },
        body: JSON.stringify(order),
      });
      const text = await res.text();
      if (res.ok) return;
      last = `HTTP ${res.status} ${text}`;
    } catch (err) {
      last = err.message;
    }
    await sleep(500);
  }
  throw new Error(`order ${order.orderId} failed after ${attempts} attempts: ${last}`);
}

let failed = 0;
for (let orderId = 1; orderId <= count; orderId++) {
  const order = { orderId };
  try {
    await sendOrder(order);
    console.log(`Order passed: ${JSON.stringify(order)}`);
  } catch (err) {
    failed++;
    console.error(err.message);
  }
  if (orderId < count) await sleep(intervalMs);
}
console.log(`checkout done: ${count - failed} of ${count} orders passed`);
process.exitCode = failed === 0 ? 0 : 1;
