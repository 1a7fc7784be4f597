/**
 * HPACK header compression (RFC 7541) for our HTTP/2 framing: a decoder that owns the peer's dynamic
 * table and an encoder that only uses the static table, so it needs no peer table-size tracking.
 * Strings are UTF-8 on both sides (gRPC metadata is ASCII; some peers send UTF-8 values).
 */
import { Buffer } from 'node:buffer';
import { huffmanDecode, huffmanMaxDecodedLength } from './huffman.js';
import { STATIC_NAMES, STATIC_TABLE, STATIC_TABLE_LENGTH } from './static-table.js';

/** One header field as it appears on the wire: lower-case name, value. */
export type HeaderField = readonly [name: string, value: string];

/** A decoder's field list above this many slots is not kept for the next block. */
const FIELDS_KEEP = 256;
/** What a cleared slot of the decoder's field list holds. */
const NO_FIELD: HeaderField = ['', ''];

/** A malformed header block (COMPRESSION_ERROR in HTTP/2 terms). */
export class HpackError extends Error {
  override name = 'HpackError';
}

/** Largest integer a header block may carry; anything above is treated as an attack (RFC 7541 §5.1). */
const MAX_INTEGER = 2 ** 31 - 1;
/** Per-entry overhead in the dynamic table size accounting (RFC 7541 §4.1). */
const ENTRY_OVERHEAD = 32;
/** Scratch buffers above this size are dropped after use instead of being kept for the next call. */
const SCRATCH_KEEP = 64 * 1024;
const EMPTY = Buffer.alloc(0);
/**
 * Default limit on a decoded header list (RFC 7540 §6.5.2 accounting). Advertise the same value in
 * SETTINGS_MAX_HEADER_LIST_SIZE so conforming peers never reach it.
 */
export const DEFAULT_MAX_HEADER_LIST_SIZE = 1024 * 1024;
/** RFC 7541 §4.1 size of each static entry, by index - 1 (static names and values are ASCII). */
const STATIC_SIZES = STATIC_TABLE.map(([name, value]) => ENTRY_OVERHEAD + name.length + value.length);
/**
 * Bits of `HpackDecoder.invalid`: a decoded field name or value holds an octet HTTP/2 forbids there
 * (RFC 9113 §8.2.1). The decoder finds them on the octets it reads anyway; what a block carries is
 * the connection's to judge (a malformed message, not a compression error).
 */
export const InvalidField = { NAME: 1, VALUE: 2 } as const;
/** Marks an octet >= 0x80 (the string is not ASCII); not an error in a value. */
const HIGH = 4;
/** Per octet: what it makes a field name (a lower-case token, RFC 9110 §5.6.2) or value break. */
const NAME_OCTETS = new Uint8Array(256).fill(InvalidField.NAME);
const VALUE_OCTETS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const tchar =
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x30 && c <= 0x39) ||
    "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c));
  if (tchar) NAME_OCTETS[c] = 0;
  if (c >= 0x80) NAME_OCTETS[c] = InvalidField.NAME | HIGH;
  // Control characters but HTAB, and DEL (grpc-go's rule; leading/trailing whitespace passes).
  VALUE_OCTETS[c] = c >= 0x80 ? HIGH : (c < 0x20 && c !== 0x09) || c === 0x7f ? InvalidField.VALUE : 0;
}

/** The `InvalidField` bits (and HIGH) of octets `[from, to)` of `buf` as a field name or value. */
function checkOctets(buf: Buffer, from: number, to: number, name: boolean): number {
  let bits = 0;
  if (name) {
    if (to === from) return InvalidField.NAME;
    let i = buf[from] === 0x3a ? from + 1 : from; // a pseudo-header's colon
    for (; i < to; i++) bits |= NAME_OCTETS[buf[i]!]!;
  } else for (let i = from; i < to; i++) bits |= VALUE_OCTETS[buf[i]!]!;
  return bits;
}

/** Strings up to this many UTF-16 units are written by the encoder's hand-rolled ASCII path. */
const SHORT_STRING = 64;
/** Slots (a power of two) and largest representation of the decoder's recent literal fields. */
const RECENT_LITERALS = 32;
const RECENT_LITERAL_OCTETS = 128;

/** Decoder state of one connection direction (owns the dynamic table). */
export class HpackDecoder {
  readonly #maxTableSize: number;
  readonly #maxHeaderListSize: number;
  /** Current table size limit, set by dynamic table size updates (≤ #maxTableSize). */
  #limit: number;
  #size = 0;
  // Ring buffer of dynamic entries: #head is the oldest, the newest is at (#head + #count - 1) & #mask.
  #entries: (HeaderField | undefined)[] = new Array(16).fill(undefined);
  #entrySizes = new Int32Array(16);
  #nameOctets = new Int32Array(16);
  /** `InvalidField` bits of each entry. */
  #entryInvalid = new Uint8Array(16);
  #mask = 15;
  #head = 0;
  #count = 0;
  // Per-call parsing state, kept on the instance so helpers need not return tuples.
  #src: Buffer = EMPTY;
  #pos = 0;
  #octets = 0;
  #literalNameOctets = 0;
  /** `InvalidField` bits (and HIGH) of the last string read, and of the last literal field. */
  #stringBits = 0;
  #literalInvalid = 0;
  #invalid = 0;
  /** The field being read goes into the dynamic table. */
  #indexing = false;
  /** latin1 copy of the whole block, made on first use. */
  #srcText: string | undefined;
  #scratch = Buffer.allocUnsafe(256);
  /** The fields of the block being decoded (see `decode`). */
  #fields: HeaderField[] = [];
  /** Literal fields without indexing recently decoded: their octets, field, sizes, invalid bits. */
  readonly #recentOctetsOf: (Buffer | undefined)[] = new Array(RECENT_LITERALS).fill(undefined);
  readonly #recentFields: (HeaderField | undefined)[] = new Array(RECENT_LITERALS).fill(undefined);
  readonly #recentOctets = new Int32Array(RECENT_LITERALS);
  readonly #recentInvalid = new Uint8Array(RECENT_LITERALS);

  /**
   * @param maxTableSize what we advertise in SETTINGS_HEADER_TABLE_SIZE (default 4096).
   * @param maxHeaderListSize limit on the decoded list, counted as in SETTINGS_MAX_HEADER_LIST_SIZE
   *   (32 + name + value octets per field); a block above it throws HpackError.
   */
  constructor(maxTableSize = 4096, maxHeaderListSize = DEFAULT_MAX_HEADER_LIST_SIZE) {
    for (const [label, value] of [
      ['maxTableSize', maxTableSize],
      ['maxHeaderListSize', maxHeaderListSize],
    ] as const) {
      if (!Number.isInteger(value) || value < 0 || value > MAX_INTEGER) {
        throw new RangeError(`${label} must be an integer in [0, ${MAX_INTEGER}], got ${value}`);
      }
    }
    this.#maxTableSize = maxTableSize;
    this.#limit = maxTableSize;
    this.#maxHeaderListSize = maxHeaderListSize;
  }

  /** Current dynamic table size in RFC 7541 §4.1 octets (32 + name + value per entry). */
  get tableSize(): number {
    return this.#size;
  }

  /** `InvalidField` bits of the last block decoded: 0 when every name and value is well formed. */
  get invalid(): number {
    return this.#invalid;
  }

  /** Decodes one complete header block (HEADERS + CONTINUATION payloads concatenated). Throws HpackError. */
  decode(block: Uint8Array): HeaderField[] {
    const src = Buffer.isBuffer(block)
      ? block
      : Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    this.#src = src;
    this.#pos = 0;
    const end = src.length;
    // Fields are collected in a scratch list and copied out at their exact count: a new list grew
    // to 17 slots on its first push.
    const fields = this.#fields;
    let count = 0;
    let sizeUpdateAllowed = true;
    let listSize = 0;
    let invalid = 0;
    try {
      while (this.#pos < end) {
        const first = src[this.#pos]!;
        if (first >= 0x80) {
          // Indexed header field (§6.1).
          const index = this.#readInteger(7);
          fields[count++] = this.#lookup(index);
          if (index <= STATIC_TABLE_LENGTH) listSize += STATIC_SIZES[index - 1]!;
          else {
            const slot = this.#slot(index);
            listSize += this.#entrySizes[slot]!;
            invalid |= this.#entryInvalid[slot]!;
          }
          sizeUpdateAllowed = false;
        } else if (first >= 0x40) {
          // Literal with incremental indexing (§6.2.1).
          this.#indexing = true;
          const field = this.#readLiteral(6);
          this.#indexing = false;
          this.#insert(field, this.#literalNameOctets, this.#octets);
          fields[count++] = field;
          invalid |= this.#literalInvalid;
          listSize += ENTRY_OVERHEAD + this.#literalNameOctets + this.#octets;
          sizeUpdateAllowed = false;
        } else if (first >= 0x20) {
          // Dynamic table size update (§6.3): only before the first field of a block (§4.2).
          if (!sizeUpdateAllowed) throw new HpackError('dynamic table size update after a header field');
          const size = this.#readInteger(5);
          if (size > this.#maxTableSize) {
            throw new HpackError(
              `dynamic table size update to ${size} exceeds the limit ${this.#maxTableSize}`,
            );
          }
          this.#limit = size;
          this.#evictTo(size);
        } else {
          // Literal without indexing (0000) or never indexed (0001) (§6.2.2, §6.2.3). A peer that
          // never indexes (ours) sends the same ones in every block: see #recentLiteral.
          const at = this.#pos;
          const slot = this.#recentLiteral(at);
          if (slot >= 0) {
            fields[count++] = this.#recentFields[slot]!;
            invalid |= this.#recentInvalid[slot]!;
            listSize += ENTRY_OVERHEAD + this.#recentOctets[slot]!;
          } else {
            const field = this.#readLiteral(4);
            fields[count++] = field;
            invalid |= this.#literalInvalid;
            listSize += ENTRY_OVERHEAD + this.#literalNameOctets + this.#octets;
            if (slot < -1) this.#remember(-2 - slot, at, field);
          }
          sizeUpdateAllowed = false;
        }
        if (listSize > this.#maxHeaderListSize) {
          // A few index octets can expand to kilobytes each; stop before the caller builds on them.
          throw new HpackError(`decoded header list exceeds ${this.#maxHeaderListSize} octets`);
        }
      }
      this.#invalid = invalid;
      return fields.slice(0, count);
    } finally {
      // No field outlives its block in the scratch list (which lives in the old generation).
      for (let i = 0; i < count; i++) fields[i] = NO_FIELD;
      if (fields.length > FIELDS_KEEP) this.#fields = [];
      this.#src = EMPTY;
      this.#srcText = undefined;
      this.#indexing = false;
      if (this.#scratch.length > SCRATCH_KEEP) this.#scratch = Buffer.allocUnsafe(256);
    }
  }

  /**
   * For the literal field without indexing at `at`: the slot of #recentFields holding the same
   * representation (its octets are identical, and its name index is static, so it decodes to the
   * same field), with #pos moved past it; otherwise -1 when it cannot be remembered, or -2 - the
   * slot to remember it in once decoded. Spares the strings and the field of every such literal
   * that repeats, which with a peer that never indexes is most of every block.
   */
  #recentLiteral(at: number): number {
    const src = this.#src;
    const n = src.length;
    let p = at;
    // Only short representations: one-octet string lengths, a static or literal name.
    let index = src[p++]! & 0x0f;
    if (index === 0x0f) {
      if (p >= n || src[p]! >= 0x80) return -1;
      index += src[p++]!;
    }
    if (index > STATIC_TABLE_LENGTH) return -1;
    if (index === 0) {
      if (p >= n || (src[p]! & 0x7f) === 0x7f) return -1;
      p += 1 + (src[p]! & 0x7f);
    }
    if (p >= n || (src[p]! & 0x7f) === 0x7f) return -1;
    p += 1 + (src[p]! & 0x7f);
    if (p > n || p - at > RECENT_LITERAL_OCTETS) return -1;
    let h = p - at;
    for (let i = at; i < p; i++) h = (Math.imul(h, 31) + src[i]!) | 0;
    const slot = h & (RECENT_LITERALS - 1);
    const seen = this.#recentOctetsOf[slot];
    if (seen !== undefined && seen.length === p - at) {
      let i = 0;
      while (i < seen.length && seen[i] === src[at + i]) i++;
      if (i === seen.length) {
        this.#pos = p;
        return slot;
      }
    }
    return -2 - slot;
  }

  /** Keeps the literal field just decoded from `[at, #pos)` in `slot` (see #recentLiteral). */
  #remember(slot: number, at: number, field: HeaderField): void {
    const octets = Buffer.allocUnsafe(this.#pos - at);
    this.#src.copy(octets, 0, at, this.#pos);
    this.#recentOctetsOf[slot] = octets;
    this.#recentFields[slot] = field;
    this.#recentOctets[slot] = this.#literalNameOctets + this.#octets;
    this.#recentInvalid[slot] = this.#literalInvalid;
  }

  /** Reads an integer with an N-bit prefix (§5.1) at the current position. */
  #readInteger(prefixBits: number): number {
    const src = this.#src;
    const mask = (1 << prefixBits) - 1;
    let value = src[this.#pos++]! & mask;
    if (value < mask) return value;
    let multiplier = 1;
    for (let continuation = 0; continuation < 5; continuation++) {
      if (this.#pos >= src.length) throw new HpackError('truncated integer');
      const byte = src[this.#pos++]!;
      value += (byte & 0x7f) * multiplier;
      if (value > MAX_INTEGER) throw new HpackError('integer exceeds 2^31-1');
      if (byte < 0x80) return value;
      multiplier *= 128;
    }
    throw new HpackError('integer encoding too long');
  }

  /**
   * Reads a literal field whose name index has an N-bit prefix. Leaves the name's octet count in
   * #literalNameOctets and the value's in #octets, for the dynamic table size accounting.
   */
  #readLiteral(prefixBits: number): HeaderField {
    const nameIndex = this.#readInteger(prefixBits);
    let name: string;
    let nameOctets: number;
    let invalid = 0;
    if (nameIndex === 0) {
      name = this.#readString(true);
      nameOctets = this.#octets;
      invalid = this.#stringBits & InvalidField.NAME;
    } else {
      name = this.#lookup(nameIndex)[0];
      if (nameIndex <= STATIC_TABLE_LENGTH) nameOctets = name.length;
      else {
        const slot = this.#slot(nameIndex);
        nameOctets = this.#nameOctets[slot]!;
        invalid = this.#entryInvalid[slot]! & InvalidField.NAME;
      }
    }
    const value = this.#readString(false);
    this.#literalNameOctets = nameOctets;
    this.#literalInvalid = invalid | (this.#stringBits & InvalidField.VALUE);
    return [name, value];
  }

  /**
   * Reads a string literal (§5.2) that is a field name or value; sets #octets to its decoded octet
   * count and #stringBits to what its octets break (`checkOctets`).
   */
  #readString(name: boolean): string {
    const src = this.#src;
    if (this.#pos >= src.length) throw new HpackError('truncated string literal');
    const huffman = src[this.#pos]! >= 0x80;
    const length = this.#readInteger(7);
    const start = this.#pos;
    if (length > src.length - start) throw new HpackError('string literal longer than the header block');
    this.#pos = start + length;
    if (!huffman) {
      this.#octets = length;
      this.#stringBits = checkOctets(src, start, start + length, name);
      return this.#rawText(start, start + length);
    }
    const needed = huffmanMaxDecodedLength(length);
    if (this.#scratch.length < needed)
      this.#scratch = Buffer.allocUnsafe(Math.max(needed, this.#scratch.length * 2));
    const decoded = huffmanDecode(src, start, start + length, this.#scratch);
    if (decoded < 0) throw new HpackError('invalid Huffman-encoded string (EOS, or bad padding)');
    this.#octets = decoded;
    this.#stringBits = checkOctets(this.#scratch, 0, decoded, name);
    return this.#scratch.toString('utf8', 0, decoded);
  }

  /**
   * Text of raw octets `[start, end)` of the block. ASCII strings are cut from one latin1 copy of the
   * whole block, which is much cheaper than a Buffer-to-string call per string. Strings bound for the
   * dynamic table are copied on their own so a long-lived entry never pins a whole block in memory.
   */
  #rawText(start: number, end: number): string {
    const src = this.#src;
    // #stringBits says whether an octet is >= 0x80 (checkOctets has looked at each).
    if (this.#indexing || end - start < 8 || (this.#stringBits & HIGH) !== 0)
      return src.toString('utf8', start, end);
    if (this.#srcText === undefined) this.#srcText = src.toString('latin1');
    return this.#srcText.substring(start, end);
  }

  /** Returns the field at HPACK index `index` (static 1..61, then dynamic newest first). */
  #lookup(index: number): HeaderField {
    if (index === 0) throw new HpackError('index 0 is not a valid header index');
    if (index <= STATIC_TABLE_LENGTH) return STATIC_TABLE[index - 1]!;
    if (index - STATIC_TABLE_LENGTH > this.#count) {
      throw new HpackError(`index ${index} is beyond the dynamic table (${this.#count} entries)`);
    }
    return this.#entries[this.#slot(index)]!;
  }

  /** Adds a field as the newest dynamic entry, evicting the oldest ones to make room (§4.4). */
  #insert(field: HeaderField, nameOctets: number, valueOctets: number): void {
    const size = ENTRY_OVERHEAD + nameOctets + valueOctets;
    if (size > this.#limit) {
      // An entry larger than the table empties it and is not added; this is not an error.
      this.#evictTo(0);
      return;
    }
    this.#evictTo(this.#limit - size);
    if (this.#count === this.#entries.length) this.#grow();
    const slot = (this.#head + this.#count) & this.#mask;
    this.#entries[slot] = Object.freeze(field);
    this.#entrySizes[slot] = size;
    this.#nameOctets[slot] = nameOctets;
    this.#entryInvalid[slot] = this.#literalInvalid;
    this.#count++;
    this.#size += size;
  }

  /** Evicts the oldest entries until the table size is at most `target`. */
  #evictTo(target: number): void {
    while (this.#size > target) {
      const slot = this.#head;
      this.#size -= this.#entrySizes[slot]!;
      this.#entries[slot] = undefined;
      this.#head = (slot + 1) & this.#mask;
      this.#count--;
    }
  }

  /** Doubles the ring buffer, laying the entries out oldest-first from slot 0. */
  #grow(): void {
    const capacity = this.#entries.length * 2;
    const entries: (HeaderField | undefined)[] = new Array(capacity).fill(undefined);
    const sizes = new Int32Array(capacity);
    const nameOctets = new Int32Array(capacity);
    const invalid = new Uint8Array(capacity);
    for (let i = 0; i < this.#count; i++) {
      const from = (this.#head + i) & this.#mask;
      entries[i] = this.#entries[from];
      sizes[i] = this.#entrySizes[from]!;
      nameOctets[i] = this.#nameOctets[from]!;
      invalid[i] = this.#entryInvalid[from]!;
    }
    this.#entries = entries;
    this.#entrySizes = sizes;
    this.#nameOctets = nameOctets;
    this.#entryInvalid = invalid;
    this.#mask = capacity - 1;
    this.#head = 0;
  }

  /** Ring-buffer slot of a valid dynamic HPACK index. */
  #slot(index: number): number {
    return (this.#head + this.#count - (index - STATIC_TABLE_LENGTH)) & this.#mask;
  }
}

/** Encoder that never inserts into the dynamic table, so it needs no peer table-size tracking. */
export class HpackEncoder {
  #buf = Buffer.allocUnsafe(1024);
  #pos = 0;

  /**
   * Encodes a header list: fully indexed static entries where name+value match (e.g. `:method POST`,
   * `:status 200`, `:scheme https`), otherwise "literal without indexing" with the static-table name
   * index when the name is in the static table, raw (non-Huffman) strings. Names must already be
   * lower case; nothing is validated here.
   */
  encode(headers: readonly HeaderField[]): Buffer {
    this.#pos = 0;
    for (const [name, value] of headers) {
      const known = STATIC_NAMES.get(name);
      if (known !== undefined) {
        const full = known.values.get(value);
        if (full !== undefined) {
          this.#reserve(6);
          this.#writeInteger(0x80, 7, full);
          continue;
        }
        this.#reserve(6);
        this.#writeInteger(0x00, 4, known.index);
      } else {
        this.#reserve(1);
        this.#buf[this.#pos++] = 0x00;
        this.#writeString(name);
      }
      this.#writeString(value);
    }
    const out = Buffer.allocUnsafe(this.#pos);
    this.#buf.copy(out, 0, 0, this.#pos);
    if (this.#buf.length > SCRATCH_KEEP) this.#buf = Buffer.allocUnsafe(1024);
    return out;
  }

  /** Writes a raw string literal (§5.2, H = 0): length with a 7-bit prefix, then UTF-8 octets. */
  #writeString(text: string): void {
    const length = text.length;
    if (length <= SHORT_STRING) {
      // Short ASCII strings are copied by hand: cheaper than two calls into C++ (byteLength + write).
      this.#reserve(1 + length);
      const buf = this.#buf;
      const start = this.#pos;
      let i = 0;
      while (i < length) {
        const code = text.charCodeAt(i);
        if (code >= 0x80) break;
        buf[start + 1 + i++] = code;
      }
      if (i === length) {
        buf[start] = length;
        this.#pos = start + 1 + length;
        return;
      }
    }
    const octets = Buffer.byteLength(text, 'utf8');
    this.#reserve(6 + octets);
    this.#writeInteger(0x00, 7, octets);
    this.#pos += this.#buf.write(text, this.#pos, octets, 'utf8');
  }

  /** Writes an integer with an N-bit prefix (§5.1); `flags` holds the bits above the prefix. */
  #writeInteger(flags: number, prefixBits: number, value: number): void {
    const buf = this.#buf;
    const max = (1 << prefixBits) - 1;
    if (value < max) {
      buf[this.#pos++] = flags | value;
      return;
    }
    buf[this.#pos++] = flags | max;
    let rest = value - max;
    while (rest >= 0x80) {
      buf[this.#pos++] = (rest & 0x7f) | 0x80;
      rest = Math.floor(rest / 128);
    }
    buf[this.#pos++] = rest;
  }

  /** Makes room for `octets` more bytes in the scratch buffer. */
  #reserve(octets: number): void {
    if (this.#pos + octets <= this.#buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + octets));
    this.#buf.copy(grown, 0, 0, this.#pos);
    this.#buf = grown;
  }
}
