// order-processor: an HTTP app that takes orders on POST /orders. Its sidecar forwards the calls
// that other apps make with `dapr-app-id: order-processor`.
import { createServer } from 'node:http';

const port = Number(process.env.APP_PORT ?? 6001);

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/orders') {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    let order;
    try {
      order = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('body must be JSON');
      return;
    }
    console.log(`Order received: ${JSON.stringify(order)}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ received: order }));
  });
});

server.listen(port, '127.0.0.1', () => console.log(`order-processor listening on port ${port}`));

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    console.log(`order-processor got ${signal}, shutting down`);
    server.close(() => process.exit(0));
  });
}
