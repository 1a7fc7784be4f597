/**
 * HTTP/2 framing (RFC 9113 §4, §6): frame types, flags, error codes, settings identifiers, the
 * client preface, frame serialisation and an incremental reader that cuts a byte stream into frames
 * without copying payloads.
 */

/** Frame type codes (RFC 9113 §6). */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Frame flags (the meaning depends on the frame type; ACK shares END_STREAM's bit). */
export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Error codes of RST_STREAM and GOAWAY (RFC 9113 §7). */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

/** SETTINGS identifiers (RFC 9113 §6.5.2). */
export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** The connection preface every client sends first. */
export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Frame header length. */
export const FRAME_HEADER_BYTES = 9;
/** The protocol's default and minimum SETTINGS_MAX_FRAME_SIZE. */
export const DEFAULT_MAX_FRAME = 16_384;
/** The initial flow-control window of every stream and of the connection until SETTINGS say otherwise. */
export const DEFAULT_WINDOW = 65_535;
/** Largest legal flow-control window. */
export const MAX_WINDOW = 0x7fff_ffff;

/** A protocol violation that ends the whole connection (sent as GOAWAY with `code`). */
export class H2ConnectionError extends Error {
  /** Creates the error with the HTTP/2 error code to send. */
  constructor(
    readonly h2code: number,
    message: string,
  ) {
    super(message);
    this.name = 'H2ConnectionError';
  }
}

/** Serialises one frame header into `out` at `at`. */
export function writeFrameHeader(
  out: Buffer,
  at: number,
  length: number,
  type: number,
  flags: number,
  streamId: number,
): void {
  out[at] = (length >>> 16) & 0xff;
  out[at + 1] = (length >>> 8) & 0xff;
  out[at + 2] = length & 0xff;
  out[at + 3] = type;
  out[at + 4] = flags;
  out.writeUInt32BE(streamId & MAX_WINDOW, at + 5);
}

/** One frame with its payload (a view into the received bytes). */
export function frame(type: number, flags: number, streamId: number, payload?: Uint8Array): Buffer {
  const len = payload?.length ?? 0;
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + len);
  writeFrameHeader(out, 0, len, type, flags, streamId);
  if (payload !== undefined) out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** A SETTINGS frame with the given identifier/value pairs. */
export function settingsFrame(settings: readonly (readonly [number, number])[]): Buffer {
  const payload = Buffer.allocUnsafe(settings.length * 6);
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, payload);
}

/** A WINDOW_UPDATE frame. */
export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
  writeFrameHeader(out, 0, 4, FrameType.WINDOW_UPDATE, 0, streamId);
  out.writeUInt32BE(increment, FRAME_HEADER_BYTES);
  return out;
}

/** An RST_STREAM frame. */
export function rstStreamFrame(streamId: number, code: number): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
  writeFrameHeader(out, 0, 4, FrameType.RST_STREAM, 0, streamId);
  out.writeUInt32BE(code, FRAME_HEADER_BYTES);
  return out;
}

/** A GOAWAY frame. */
export function goawayFrame(lastStreamId: number, code: number, debug = ''): Buffer {
  const text = Buffer.from(debug, 'utf8');
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 8 + text.length);
  writeFrameHeader(out, 0, 8 + text.length, FrameType.GOAWAY, 0, 0);
  out.writeUInt32BE(lastStreamId & MAX_WINDOW, FRAME_HEADER_BYTES);
  out.writeUInt32BE(code, FRAME_HEADER_BYTES + 4);
  text.copy(out, FRAME_HEADER_BYTES + 8);
  return out;
}

/** Receives each complete frame; `payload` is valid only until the callback returns unless kept. */
export type FrameHandler = (type: number, flags: number, streamId: number, payload: Buffer) => void;

/**
 * Cuts incoming bytes into frames. Payloads are views into the received chunk (no copy) except
 * for a frame split across chunks, which is joined once.
 */
export class FrameReader {
  #rest: Buffer | undefined;
  #maxFrame: number;
  /** Bytes of the client connection preface still expected (a server reads it first). */
  #prefaceLeft: number;

  /**
   * `maxFrame` is our SETTINGS_MAX_FRAME_SIZE: a larger frame is a FRAME_SIZE_ERROR. A server's
   * reader (`expectPreface`) first checks the client connection preface (RFC 9113 §3.4).
   */
  constructor(maxFrame: number, expectPreface: boolean) {
    this.#maxFrame = maxFrame;
    this.#prefaceLeft = expectPreface ? CLIENT_PREFACE.length : 0;
  }

  /** Feeds one chunk; calls `onFrame` for every complete frame. Throws H2ConnectionError. */
  push(chunk: Buffer, onFrame: FrameHandler): void {
    let buf = this.#prefaceLeft > 0 ? this.#preface(chunk) : chunk;
    if (buf.length === 0) return;
    if (this.#rest !== undefined) {
      buf = Buffer.concat([this.#rest, chunk]);
      this.#rest = undefined;
    }
    let at = 0;
    const end = buf.length;
    while (end - at >= FRAME_HEADER_BYTES) {
      const length = ((buf[at] as number) << 16) | ((buf[at + 1] as number) << 8) | (buf[at + 2] as number);
      if (length > this.#maxFrame)
        throw new H2ConnectionError(
          ErrorCode.FRAME_SIZE_ERROR,
          `frame of ${length} bytes exceeds ${this.#maxFrame}`,
        );
      if (end - at < FRAME_HEADER_BYTES + length) break;
      const type = buf[at + 3] as number;
      const flags = buf[at + 4] as number;
      const streamId = buf.readUInt32BE(at + 5) & MAX_WINDOW;
      const start = at + FRAME_HEADER_BYTES;
      at = start + length;
      onFrame(type, flags, streamId, buf.subarray(start, at));
    }
    if (at < end) this.#rest = buf.subarray(at);
  }

  /** Checks the preface bytes at the start of `chunk`; returns what follows them. */
  #preface(chunk: Buffer): Buffer {
    const n = Math.min(this.#prefaceLeft, chunk.length);
    const offset = CLIENT_PREFACE.length - this.#prefaceLeft;
    if (!chunk.subarray(0, n).equals(CLIENT_PREFACE.subarray(offset, offset + n)))
      throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'invalid HTTP/2 client preface');
    this.#prefaceLeft -= n;
    return chunk.subarray(n);
  }
}

/**
 * Strips the padding of a PADDED frame payload (DATA or HEADERS); returns the content view.
 * Throws a PROTOCOL_ERROR when the pad length does not fit.
 */
export function unpad(payload: Buffer, flags: number): Buffer {
  if ((flags & Flag.PADDED) === 0) return payload;
  if (payload.length < 1)
    throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'padded frame without pad length');
  const pad = payload[0] as number;
  if (pad >= payload.length)
    throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'padding exceeds the frame');
  return payload.subarray(1, payload.length - pad);
}

/** The error code of an RST_STREAM frame (RFC 9113 §6.4). */
export function readRstStream(streamId: number, payload: Buffer): number {
  if (streamId === 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
  if (payload.length !== 4) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'bad RST_STREAM length');
  return payload.readUInt32BE(0);
}

/**
 * Checks a PRIORITY frame (RFC 9113 §6.3, §5.3.1): 0 when it is well formed (its content is then
 * ignored, §5.3.2), else the code of the stream error it causes. Stream 0 is a connection error.
 */
export function priorityError(streamId: number, payload: Buffer): number {
  if (streamId === 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
  if (payload.length !== 5) return ErrorCode.FRAME_SIZE_ERROR;
  return (payload.readUInt32BE(0) & MAX_WINDOW) === streamId ? ErrorCode.PROTOCOL_ERROR : 0;
}

/** The last stream id of a GOAWAY frame (RFC 9113 §6.8). */
export function readGoaway(streamId: number, payload: Buffer): number {
  if (streamId !== 0 || payload.length < 8)
    throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'bad GOAWAY');
  return payload.readUInt32BE(0) & MAX_WINDOW;
}

/** The increment of a WINDOW_UPDATE frame (RFC 9113 §6.9); 0 is the caller's to judge. */
export function readWindowUpdate(payload: Buffer): number {
  if (payload.length !== 4) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'bad WINDOW_UPDATE');
  return payload.readUInt32BE(0) & MAX_WINDOW;
}

/** The settings of a SETTINGS frame that an `H2Connection` acts on (the last value of each wins). */
export interface PeerSettings {
  initialWindow?: number;
  maxFrame?: number;
  maxStreams?: number;
}

/**
 * The settings of a SETTINGS frame (RFC 9113 §6.5), or undefined for an acknowledgement (which
 * must be empty). Values out of their range are connection errors, as is push enabled by a server
 * (`fromServer`); unknown settings are ignored.
 */
export function readSettings(
  streamId: number,
  flags: number,
  payload: Buffer,
  fromServer: boolean,
): PeerSettings | undefined {
  if (streamId !== 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
  if ((flags & Flag.ACK) !== 0) {
    if (payload.length !== 0)
      throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS acknowledgement with a payload');
    return undefined;
  }
  if (payload.length % 6 !== 0)
    throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'bad SETTINGS length');
  const out: PeerSettings = {};
  for (let at = 0; at < payload.length; at += 6) {
    const key = payload.readUInt16BE(at);
    const value = payload.readUInt32BE(at + 2);
    if (key === Setting.INITIAL_WINDOW_SIZE) {
      if (value > MAX_WINDOW) throw new H2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'window too large');
      out.initialWindow = value;
    } else if (key === Setting.MAX_FRAME_SIZE) {
      if (value < DEFAULT_MAX_FRAME || value > 0xff_ffff)
        throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'bad SETTINGS_MAX_FRAME_SIZE');
      out.maxFrame = value;
    } else if (key === Setting.MAX_CONCURRENT_STREAMS) out.maxStreams = value;
    else if (key === Setting.ENABLE_PUSH && (value > 1 || (fromServer && value !== 0)))
      throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'bad SETTINGS_ENABLE_PUSH');
  }
  return out;
}
