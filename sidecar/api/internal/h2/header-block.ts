/**
 * Header blocks on the input side (RFC 9113 §4.3): a HEADERS frame's block, unpadded and without
 * its priority fields, joined with the CONTINUATION frames that must follow it directly, up to a
 * size limit; and the decoded field list as a map.
 */
import { ErrorCode, Flag, H2ConnectionError, unpad } from './frames.js';
import type { HeaderField } from './hpack.js';
import type { HeaderMap } from './stream.js';

/** Largest header block we accept (a larger one is ENHANCE_YOUR_CALM). */
const MAX_HEADER_BLOCK = 256 * 1024;

/**
 * Added to a block's flags when its HEADERS frame gives the stream itself as its dependency: a
 * stream error of type PROTOCOL_ERROR (RFC 9113 §5.3.1), reported once the block is decoded (the
 * HPACK table must stay in step whatever happens to the stream).
 */
export const SELF_DEPENDENT = 0x100;

/** Receives a complete header block with the flags of the HEADERS frame that began it. */
export type HeaderBlockHandler = (streamId: number, flags: number, block: Buffer) => void;

/** Joins HEADERS and CONTINUATION frames into complete header blocks. Throws H2ConnectionError. */
export class HeaderBlockAssembler {
  readonly #onBlock: HeaderBlockHandler;
  #pending: { streamId: number; flags: number; parts: Buffer[]; size: number } | undefined;

  /** Calls `onBlock` for each complete block. */
  constructor(onBlock: HeaderBlockHandler) {
    this.#onBlock = onBlock;
  }

  /** Whether a block is open: the next frame must be its CONTINUATION. */
  get open(): boolean {
    return this.#pending !== undefined;
  }

  /** A HEADERS frame. */
  headers(frameFlags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let flags = frameFlags;
    let block = unpad(payload, flags);
    if ((flags & Flag.PRIORITY) !== 0) {
      if (block.length < 5) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'short HEADERS priority');
      if ((block.readUInt32BE(0) & 0x7fff_ffff) === streamId) flags |= SELF_DEPENDENT;
      block = block.subarray(5);
    }
    if ((flags & Flag.END_HEADERS) !== 0) this.#onBlock(streamId, flags, block);
    else this.#pending = { streamId, flags, parts: [Buffer.from(block)], size: block.length };
  }

  /** A CONTINUATION frame. */
  continuation(flags: number, streamId: number, payload: Buffer): void {
    const b = this.#pending;
    if (b === undefined || b.streamId !== streamId)
      throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'unexpected CONTINUATION');
    b.size += payload.length;
    if (b.size > MAX_HEADER_BLOCK)
      throw new H2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'header block too large');
    b.parts.push(Buffer.from(payload));
    if ((flags & Flag.END_HEADERS) === 0) return;
    this.#pending = undefined;
    this.#onBlock(streamId, b.flags, Buffer.concat(b.parts));
  }
}

/** Decoded fields by name; repeated fields are joined with ", ". */
export function toHeaderMap(fields: readonly HeaderField[]): HeaderMap {
  const map: HeaderMap = {};
  for (const [name, value] of fields) {
    const prev = map[name];
    map[name] = prev === undefined ? value : `${prev}, ${value}`;
  }
  return map;
}
