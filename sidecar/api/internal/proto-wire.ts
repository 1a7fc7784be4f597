/**
 * The few protobuf wire-format primitives the internal invocation messages need (varints,
 * length-delimited fields). Hand-written so the hot path allocates one Buffer per message and
 * never goes through a reflection-based codec.
 */

/** Protobuf wire types used here. */
const VARINT = 0;
const LEN = 2;

/** Appends protobuf fields to a list of buffers; `finish()` concatenates them once. */
export class ProtoWriter {
  readonly #parts: Buffer[] = [];
  #size = 0;

  #push(b: Buffer): void {
    this.#parts.push(b);
    this.#size += b.length;
  }

  #varint(n: number): void {
    const bytes: number[] = [];
    let v = n;
    while (v > 0x7f) {
      bytes.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    bytes.push(v);
    this.#push(Buffer.from(bytes));
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

  /** A string field (skipped when empty). */
  string(field: number, value: string): this {
    if (value !== '') this.bytes(field, Buffer.from(value, 'utf8'));
    return this;
  }

  /** A bytes field, always written (an empty nested message still marks presence). */
  bytes(field: number, value: Uint8Array): this {
    this.#tag(field, LEN);
    this.#varint(value.length);
    this.#push(Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length));
    return this;
  }

  /** A nested message field. */
  message(field: number, w: ProtoWriter): this {
    return this.bytes(field, w.finish());
  }

  /** The encoded message. */
  finish(): Buffer {
    return this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts, this.#size);
  }
}

/** One decoded field: a number for varints, a Buffer (a view, not a copy) for length-delimited ones. */
export interface ProtoField {
  readonly field: number;
  readonly value: number | Buffer;
}

/** A malformed protobuf message. */
export class ProtoDecodeError extends Error {
  /** Stable code. */
  readonly code = 'ERR_PROTO_DECODE';
  constructor(message: string) {
    super(message);
    this.name = 'ProtoDecodeError';
  }
}

/** Iterates the fields of `buf`; unknown wire types other than varint/len/fixed are errors. */
export function* readFields(buf: Buffer): Generator<ProtoField> {
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let mul = 1;
    for (;;) {
      if (pos >= buf.length) throw new ProtoDecodeError('truncated varint');
      const b = buf[pos++] as number;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return result;
      mul *= 128;
      if (mul > 2 ** 63) throw new ProtoDecodeError('varint too long');
    }
  };
  while (pos < buf.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key & 7;
    switch (wire) {
      case 0:
        yield { field, value: varint() };
        break;
      case 1:
        pos += 8;
        break;
      case 2: {
        const len = varint();
        if (pos + len > buf.length) throw new ProtoDecodeError('truncated length-delimited field');
        yield { field, value: buf.subarray(pos, pos + len) };
        pos += len;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        throw new ProtoDecodeError(`unsupported wire type ${wire}`);
    }
  }
}
