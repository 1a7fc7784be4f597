import { unlink } from 'node:fs/promises';
import { connect, type Server } from 'node:net';
import { join } from 'node:path';

/** daprd's socket names under `--unix-domain-socket <dir>`: `dapr-<app id>-http.socket` and `-grpc.socket`. */
export function apiSocketPath(dir: string, appId: string, api: 'http' | 'grpc'): string {
  return join(dir, `dapr-${appId}-${api}.socket`);
}

/**
 * Listens on the unix socket `path`. A socket file left by a process that is gone (nothing
 * accepts on it) is removed first; one that a live process serves is an error, as it is for
 * daprd. Closing the server removes the file.
 */
export async function listenUnixSocket(server: Server, path: string): Promise<void> {
  try {
    await listenOnce(server, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || (await socketAnswers(path))) throw err;
    await unlink(path);
    await listenOnce(server, path);
  }
}

function listenOnce(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect({ path }, () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
