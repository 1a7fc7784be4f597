/**
 * Log files of `outrigger run -f`, named and placed as the dapr CLI's (dapr/cli
 * pkg/runfileconfig/run_file_config.go): `<appDirPath>/.dapr/logs/<appID>_app_<timestamp>.log` and
 * `<appID>_daprd_<timestamp>.log`, the timestamp in local time as Go's `20060102150405`.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';

/** Which process a log file is for (dapr's file name prefixes). */
export type LogKind = 'app' | 'daprd';

/** `<appDirPath>/.dapr/logs`. */
export function logsDir(appDirPath: string): string {
  return join(appDirPath, '.dapr', 'logs');
}

/** `YYYYMMDDhhmmss` in local time. */
export function logTimestamp(now: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    String(now.getFullYear()) +
    two(now.getMonth() + 1) +
    two(now.getDate()) +
    two(now.getHours()) +
    two(now.getMinutes()) +
    two(now.getSeconds())
  );
}

/** The file name dapr gives a log: `<appID>_<kind>_<timestamp>.log`. */
export function logFileName(appId: string, kind: LogKind, now: Date): string {
  return `${appId}_${kind}_${logTimestamp(now)}.log`;
}

/**
 * One log file. `stream` accepts writes until `close()`; later writes (a child's output that
 * arrives after shutdown gave up waiting for it) are dropped rather than failing.
 */
export class LogFile {
  /** Absolute path of the file. */
  readonly path: string;
  /** Where output for this file is written. */
  readonly stream: Writable;
  readonly #file: WriteStream;
  #closed = false;

  private constructor(path: string) {
    this.path = path;
    this.#file = createWriteStream(path, { flags: 'w' });
    this.#file.on('error', () => {
      // e.g. the disk filled up: keep the run going, the console still has the output
    });
    this.stream = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        if (!this.#closed) this.#file.write(chunk);
        done();
      },
    });
  }

  /** Creates (truncates) `<appDirPath>/.dapr/logs/<appID>_<kind>_<timestamp>.log`. */
  static open(appDirPath: string, appId: string, kind: LogKind, now: Date): LogFile {
    const dir = logsDir(appDirPath);
    mkdirSync(dir, { recursive: true });
    return new LogFile(join(dir, logFileName(appId, kind, now)));
  }

  /** Flushes and closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await new Promise<void>((resolve) => this.#file.end(resolve));
  }
}

/** A stream that copies every write to each of `targets`. */
export function tee(targets: readonly Writable[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const t of targets) t.write(chunk);
      done();
    },
  });
}
