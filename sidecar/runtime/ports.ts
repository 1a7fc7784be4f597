import { createServer } from 'node:net';

/** Resolves the port a listener gets on `port` (0 = any free port), or undefined if it cannot bind. */
async function tryListen(port: number): Promise<number | undefined> {
  return await new Promise<number | undefined>((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen({ port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * daprd's fallback for the stable internal gRPC port: keep it when it is free, otherwise take a
 * random free port (dapr/kit ports.GetStablePort).
 */
export async function stableOrFreePort(stable: number): Promise<number> {
  return (await tryListen(stable)) ?? (await tryListen(0)) ?? stable;
}
