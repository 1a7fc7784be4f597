/**
 * The few protobuf wire-format primitives the internal invocation messages need (varints,
 * length-delimited fields). Hand-written so the hot path allocates one Buffer per message and
 * never goes through a reflection-based codec.
 */

/** Protobuf wire types used here. */
const VARINT = 0;
const I64 = 1;
const LEN = 2;

/** Writes protobuf fields into one growing buffer; nested messages are written in place. */
export class ProtoWriter {
  #buf: Buffer;
  #pos = 0;

  readonly #start: number;

  /** `reserve` bytes at the front are left for a transport header (see `framed`). */
  constructor(initial = 256, reserve = 0) {
    this.#buf = Buffer.allocUnsafe(initial + reserve);
    this.#start = reserve;
    this.#pos = reserve;
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + n));
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }

  #varint(n: number): void {
    this.#ensure(10);
    let v = n;
    while (v > 0x7f) {
      this.#buf[this.#pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.#buf[this.#pos++] = v;
  }

  #tag(field: number, wire: number): void {
    this.#varint(field * 8 + wire);
  }

  /** A varint field (skipped when 0, as proto3 does). */
  uint(field: number, value: number): this {
    if (value !== 0) {
      this.#tag(field, VARINT);
      this.#varint(value);
    }
    return this;
  }

  /** A varint field written even when 0 (elements of repeated numbers, where position counts). */
  uintAlways(field: number, value: number): this {
    this.#tag(field, VARINT);
    this.#varint(value);
    return this;
  }

  /** A fixed64 field (skipped when 0, as proto3 does). */
  fixed64(field: number, value: bigint): this {
    if (value === 0n) return this;
    this.#tag(field, I64);
    this.#ensure(8);
    this.#buf.writeBigUInt64LE(value, this.#pos);
    this.#pos += 8;
    return this;
  }

  /** A string field (skipped when empty). */
  string(field: number, value: string): this {
    if (value === '') return this;
    const len = Buffer.byteLength(value, 'utf8');
    this.#tag(field, LEN);
    this.#varint(len);
    this.#ensure(len);
    this.#pos += this.#buf.write(value, this.#pos, 'utf8');
    return this;
  }

  /** A string field written even when empty (elements of repeated strings). */
  stringAlways(field: number, value: string): this {
    const len = Buffer.byteLength(value, 'utf8');
    this.#tag(field, LEN);
    this.#varint(len);
    this.#ensure(len);
    this.#pos += this.#buf.write(value, this.#pos, 'utf8');
    return this;
  }

  /** A bytes field, always written (an empty nested message still marks presence). */
  bytes(field: number, value: Uint8Array): this {
    this.#tag(field, LEN);
    this.#varint(value.length);
    this.#ensure(value.length);
    this.#buf.set(value, this.#pos);
    this.#pos += value.length;
    return this;
  }

  /**
   * A nested message written by `body` directly into this buffer: 5 bytes are reserved for the
   * length, then the content is moved back over the unused ones.
   */
  nested(field: number, body: (w: this) => void): this {
    const mark = this.begin(field);
    body(this);
    return this.end(mark);
  }

  /**
   * Opens a nested message written in place (as `nested`, without a callback: hot encoders use
   * this pair so that no closure is allocated per field). Returns the mark to pass to `end`.
   */
  begin(field: number): number {
    this.#tag(field, LEN);
    this.#ensure(5);
    const lenAt = this.#pos;
    this.#pos += 5;
    return lenAt;
  }

  /** Closes the nested message opened by `begin` (`mark` is what it returned). */
  end(mark: number): this {
    const lenAt = mark;
    const len = this.#pos - lenAt - 5;
    let size = 1;
    for (let v = len; v > 0x7f; v = Math.floor(v / 128)) size++;
    const end = this.#pos;
    this.#pos = lenAt;
    this.#varint(len);
    if (size < 5) this.#buf.copyWithin(lenAt + size, lenAt + 5, end);
    this.#pos = end - (5 - size);
    return this;
  }

  /** A nested message from another writer (copies its bytes). */
  message(field: number, w: ProtoWriter): this {
    return this.bytes(field, w.finish());
  }

  /** The encoded message (a view of the internal buffer). */
  finish(): Buffer {
    return this.#buf.subarray(this.#start, this.#pos);
  }

  /** The message behind its 5-byte gRPC frame header (needs `reserve` = 5), without a copy. */
  framed(): Buffer {
    if (this.#start !== 5) throw new Error('framed() needs 5 reserved bytes');
    this.#buf[0] = 0;
    this.#buf.writeUInt32BE(this.#pos - 5, 1);
    return this.#buf.subarray(0, this.#pos);
  }
}

/** Strings `recentString` has read, by a hash of their bytes (a slot holds the latest one). */
const RECENT: string[] = new Array<string>(512).fill('');
/** Longer strings (trace contexts, ...) are mostly unique: not worth a slot. */
const RECENT_MAX_LENGTH = 48;

/** A malformed protobuf message. */
export class ProtoDecodeError extends Error {
  /** Stable code. */
  readonly code = 'ERR_PROTO_DECODE';
  constructor(message: string) {
    super(message);
    this.name = 'ProtoDecodeError';
  }
}

/**
 * A cursor over one message (or a range of it) for hand-written decoders: no per-field objects,
 * strings read straight from the buffer.
 */
export class ProtoCursor {
  readonly buf: Buffer;
  pos: number;
  /** End of the range read (narrowed by `enter` until `leave`). */
  end: number;
  /** Field number and wire type of the last `next()`. */
  field = 0;
  wire = 0;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  /** Reads the next key; false at the end of the range. */
  next(): boolean {
    if (this.pos >= this.end) return false;
    const key = this.varint();
    this.field = Math.floor(key / 8);
    this.wire = key & 7;
    return true;
  }

  /** Reads a varint. */
  varint(): number {
    let result = 0;
    let mul = 1;
    for (;;) {
      if (this.pos >= this.end) throw new ProtoDecodeError('truncated varint');
      const b = this.buf[this.pos++] as number;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
      if (mul > 2 ** 63) throw new ProtoDecodeError('varint too long');
    }
  }

  /** For a length-delimited field: a cursor over its content; this cursor moves past it. */
  sub(): ProtoCursor {
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) throw new ProtoDecodeError('truncated length-delimited field');
    this.pos = start + len;
    return new ProtoCursor(this.buf, start, start + len);
  }

  /**
   * For a length-delimited field: narrows this cursor to its content, as `sub` does without a new
   * cursor (hot decoders allocate nothing per field). Returns the outer end, to give to `leave`
   * once the content has been read to its end.
   */
  enter(): number {
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) throw new ProtoDecodeError('truncated length-delimited field');
    const outer = this.end;
    this.end = start + len;
    return outer;
  }

  /** Back to the enclosing range after `enter` (`outer` is what it returned), past the field. */
  leave(outer: number): void {
    this.pos = this.end;
    this.end = outer;
  }

  /** A length-delimited field as a string. */
  string(): string {
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) throw new ProtoDecodeError('truncated length-delimited field');
    this.pos = start + len;
    return this.buf.toString('utf8', start, start + len);
  }

  /**
   * `string()` for values that repeat from message to message (metadata keys and most of their
   * values): a short ASCII string equal to one recently read is returned from `RECENT` instead of
   * being decoded again, so that every call does not allocate the same strings anew.
   */
  recentString(): string {
    const len = this.varint();
    const start = this.pos;
    const end = start + len;
    if (end > this.end) throw new ProtoDecodeError('truncated length-delimited field');
    this.pos = end;
    const buf = this.buf;
    if (len > RECENT_MAX_LENGTH) return buf.toString('utf8', start, end);
    let h = len;
    for (let i = start; i < end; i++) {
      const b = buf[i] as number;
      if (b >= 0x80) return buf.toString('utf8', start, end); // only ASCII: its bytes are its chars
      h = (Math.imul(h, 31) + b) | 0;
    }
    const slot = h & (RECENT.length - 1);
    const seen = RECENT[slot] as string;
    if (seen.length === len) {
      let i = 0;
      while (i < len && seen.charCodeAt(i) === buf[start + i]) i++;
      if (i === len) return seen;
    }
    const s = buf.toString('latin1', start, end);
    RECENT[slot] = s;
    return s;
  }

  /** A length-delimited field as a Buffer view (no copy). */
  bytes(): Buffer {
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) throw new ProtoDecodeError('truncated length-delimited field');
    this.pos = start + len;
    return this.buf.subarray(start, start + len);
  }

  /** Skips the value of the current field; a value running past the end is a decode error. */
  skip(): void {
    switch (this.wire) {
      case 0:
        this.varint();
        return;
      case 1:
        this.#advance(8);
        return;
      case 2:
        this.#advance(this.varint());
        return;
      case 5:
        this.#advance(4);
        return;
      default:
        throw new ProtoDecodeError(`unsupported wire type ${this.wire}`);
    }
  }

  #advance(len: number): void {
    if (this.pos + len > this.end) throw new ProtoDecodeError('truncated field');
    this.pos += len;
  }
}
