import type { Readable, Writable } from 'node:stream';

/**
 * Copies a child's output line by line, each line led by `prefix` (`== APP - orders == `), so the
 * app's and the sidecar's logs stay readable when interleaved. A last partial line is flushed
 * when the source ends.
 */
export function pipeWithPrefix(source: Readable, target: Writable, prefix: string): Promise<void> {
  let pending = '';
  source.setEncoding('utf8');
  source.on('data', (chunk: string) => {
    const text = pending + chunk;
    const lines = text.split('\n');
    pending = lines.pop() ?? '';
    if (lines.length > 0) target.write(lines.map((line) => `${prefix}${line}\n`).join(''));
  });
  return new Promise<void>((resolve) => {
    const finish = (): void => {
      if (pending !== '') target.write(`${prefix}${pending}\n`);
      pending = '';
      resolve();
    };
    source.once('end', finish);
    source.once('error', finish);
  });
}
