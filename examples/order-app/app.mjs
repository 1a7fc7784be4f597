// A small order app that keeps its orders in the Dapr state store "statestore", through the
// sidecar's HTTP API with plain fetch: no SDK, no dependencies. Run it under a sidecar:
//   outrigger run --app-id order-app -- node examples/order-app/app.mjs
const port = process.env.DAPR_HTTP_PORT ?? '3500';
const base = `http://127.0.0.1:${port}/v1.0`;
const store = `${base}/state/statestore`;

let step = 0;
function show(title) {
  step += 1;
  console.log(`\n[${step}] ${title}`);
}

function fail(message) {
  console.error(`order-app: FAILED: ${message}`);
  process.exit(1);
}

async function call(method, url, body, headers = {}) {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, etag: res.headers.get('etag') ?? undefined, text, json: text ? JSON.parse(text) : undefined };
}

function expect(res, status, what) {
  if (res.status !== status) fail(`${what}: expected HTTP ${status}, got ${res.status} ${res.text}`);
}

async function waitForSidecar() {
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`${base}/healthz/outbound`);
      if (res.status === 204) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`no sidecar answered at ${base} (is DAPR_HTTP_PORT set?)`);
}

await waitForSidecar();
console.log(`order-app: talking to the sidecar at ${base}`);

show('Count this run (a counter kept in the state store, updated with its ETag)');
const counter = await call('GET', `${store}/runs`);
const runs = (counter.status === 200 ? Number(counter.json) : 0) + 1;
const saveCounter = await call('POST', store, [
  counter.etag === undefined ? { key: 'runs', value: runs } : { key: 'runs', value: runs, etag: counter.etag },
]);
expect(saveCounter, 204, 'save the run counter');
console.log(`    this is run #${runs} of the order app on this state store`);

show('Save three orders');
const orders = [
  { key: 'order-1', value: { id: 1, item: 'paddle', quantity: 2, status: 'new' } },
  { key: 'order-2', value: { id: 2, item: 'life vest', quantity: 1, status: 'new' } },
  { key: 'order-3', value: { id: 3, item: 'outrigger canoe', quantity: 1, status: 'new' } },
];
expect(await call('POST', store, orders), 204, 'save orders');
for (const o of orders) console.log(`    saved ${o.key}: ${JSON.stringify(o.value)}`);

show('Read them back');
const etags = {};
for (const o of orders) {
  const res = await call('GET', `${store}/${o.key}`);
  expect(res, 200, `get ${o.key}`);
  etags[o.key] = res.etag;
  console.log(`    ${o.key} (etag ${res.etag}): ${res.text}`);
}
const bulk = await call('POST', `${store}/bulk`, { keys: orders.map((o) => o.key) });
expect(bulk, 200, 'bulk get');
console.log(`    bulk get returned ${bulk.json.length} orders`);

show('Ship order-1, updating it with the ETag we read');
const shipped = { ...orders[0].value, status: 'shipped' };
expect(await call('POST', store, [{ key: 'order-1', value: shipped, etag: etags['order-1'] }]), 204, 'update order-1');
const after = await call('GET', `${store}/order-1`);
console.log(`    order-1 is now (etag ${after.etag}): ${after.text}`);

show('Try to cancel order-1 with the old ETag: the store must refuse (409)');
const stale = await call('POST', store, [{ key: 'order-1', value: { ...shipped, status: 'cancelled' }, etag: etags['order-1'] }]);
expect(stale, 409, 'update with a stale etag');
console.log(`    refused with HTTP ${stale.status}: ${stale.json?.errorCode}`);

show('Delete order-3');
expect(await call('DELETE', `${store}/order-3`), 204, 'delete order-3');
const gone = await call('GET', `${store}/order-3`);
expect(gone, 204, 'get deleted order-3');
console.log(`    order-3 is gone (GET answered HTTP ${gone.status})`);

console.log('\norder-app: all steps done');
