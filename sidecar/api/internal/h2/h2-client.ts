/**
 * A client of one HTTP/2 peer on our own h2 layer: one connection, dialled on first use and again
 * once it is closed or told to go away. For peers other than sidecars (a gRPC app, the in-process
 * gRPC server), whose calls are relayed raw; the sidecar hop has its own pool (internal-client.ts).
 */
import type { Socket } from 'node:net';
import { H2Connection } from './connection.js';
import type { HeaderField } from './hpack.js';
import type { H2Stream } from './stream.js';

/** One lazily dialled HTTP/2 connection. */
export class H2Client {
  readonly #dial: () => Socket;
  #conn: H2Connection | undefined;

  /** `dial` opens the socket (with Nagle off: a call's last frames must not wait for a delayed ACK). */
  constructor(dial: () => Socket) {
    this.#dial = dial;
  }

  /** Opens a stream with these request headers (pseudo-headers included). Throws when it cannot. */
  request(headers: readonly HeaderField[]): H2Stream {
    let conn = this.#conn;
    if (conn === undefined || !conn.usable) {
      const opened = new H2Connection(this.#dial(), { role: 'client' });
      const forget = (): void => {
        if (this.#conn === opened) this.#conn = undefined;
      };
      opened.onClose = forget;
      opened.onGoaway = forget;
      this.#conn = opened;
      conn = opened;
    }
    return conn.request(headers);
  }

  /** Closes the connection once its streams are done. */
  close(): void {
    this.#conn?.close();
    this.#conn = undefined;
  }
}
