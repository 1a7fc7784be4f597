import { createServer } from 'node:net';

/** Asks the kernel for a loopback port that is free right now (listen on 0, close again). */
export async function freePort(): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read a free port'))));
    });
  });
}

/** `count` distinct free ports (the kernel may hand the same one out twice after a close). */
export async function freePorts(count: number, taken: ReadonlySet<number> = new Set()): Promise<number[]> {
  const out: number[] = [];
  while (out.length < count) {
    const port = await freePort();
    if (!taken.has(port) && !out.includes(port)) out.push(port);
  }
  return out;
}
