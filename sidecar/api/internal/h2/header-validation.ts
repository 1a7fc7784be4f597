/**
 * Field rules of HTTP/2 messages (RFC 9113 §8.1–8.3), checked while the decoded field list becomes
 * a `HeaderMap`, in the same single pass: a malformed message is a stream error of type
 * PROTOCOL_ERROR (§8.1.1), never a connection error. Each check is a table lookup or a character
 * comparison on the strings HPACK produced, whose octets the decoder checked as it read them
 * (`HpackDecoder.invalid`); nothing is allocated beyond the map itself.
 *
 * - Field names (§8.2.1, §8.2): lower-case HTTP tokens (RFC 9110 §5.1), so no uppercase, no
 *   controls, no space, no colon outside pseudo-headers (checked by the HPACK decoder).
 * - Field values (§8.2.1): no NUL, CR, LF or other control character but HTAB (checked by the
 *   HPACK decoder). Leading and trailing whitespace is let through, as grpc-go (x/net/http2) does:
 *   its peers send it (a `grpc-message` ending in a space goes out unencoded), and refusing it
 *   would turn an app's status into a reset.
 * - Connection-specific fields (§8.2.2): `connection`, `proxy-connection`, `keep-alive`,
 *   `transfer-encoding`, `upgrade`; `te` only in a request and only as "trailers".
 * - Pseudo-headers (§8.3): only the defined ones for the message kind, each once, all before the
 *   regular fields, none in trailers; a request has `:method`, `:scheme` and a non-empty `:path`
 *   (CONNECT: `:authority` only, §8.5); a response has a 3-digit `:status`.
 * - `content-length` (§8.1.1): digits only (the count is checked against the DATA by the connection).
 */
import { Flag } from './frames.js';
import { SELF_DEPENDENT } from './header-block.js';
import { type HeaderField, InvalidField } from './hpack.js';
import type { H2Stream, HeaderMap } from './stream.js';

/** Why a message is malformed (a constant string: the rejection allocates nothing). */
export type Malformed = string;

/** Which message a field list opens. */
export const MessageKind = { REQUEST: 0, RESPONSE: 1, TRAILERS: 2 } as const;
/** One of `MessageKind`. */
export type MessageKind = (typeof MessageKind)[keyof typeof MessageKind];

/** Bits of a request's pseudo-headers, to find duplicates and missing ones without a lookup. */
const METHOD = 1;
const SCHEME = 2;
const PATH = 4;
const AUTHORITY = 8;
/** The bit of a response's `:status`. */
const STATUS = 1;

/**
 * Checks `fields` as a message of `kind` and returns them as a map (repeated fields joined with
 * ", "), or the reason the message is malformed. `invalid` holds the decoder's `InvalidField` bits
 * for the block: the octets of names and values were checked as HPACK read them.
 */
export function checkedHeaderMap(
  fields: readonly HeaderField[],
  kind: MessageKind,
  invalid: number,
): HeaderMap | Malformed {
  if (invalid !== 0)
    return (invalid & InvalidField.NAME) !== 0 ? 'invalid field name' : 'invalid character in a field value';
  const map: HeaderMap = {};
  let seen = 0;
  let regular = false;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i] as HeaderField;
    const name = field[0];
    const value = field[1];
    if (name.charCodeAt(0) === 0x3a) {
      if (regular) return 'pseudo-header after a regular field';
      const bit = pseudoBit(name, kind);
      if (bit === 0)
        return kind === MessageKind.TRAILERS
          ? 'pseudo-header in trailers'
          : `unexpected pseudo-header ${name}`;
      if ((seen & bit) !== 0) return `duplicated ${name}`;
      seen |= bit;
      map[name] = value;
      continue;
    }
    regular = true;
    const reason = checkRegular(name, value, kind);
    if (reason !== undefined) return reason;
    const prev = map[name];
    map[name] = prev === undefined ? value : `${prev}, ${value}`;
  }
  if (kind === MessageKind.REQUEST) {
    const reason = checkRequestPseudo(map, seen);
    if (reason !== undefined) return reason;
  } else if (kind === MessageKind.RESPONSE) {
    const status = map[':status'];
    if (status === undefined) return 'missing :status';
    if (status.length !== 3 || !digits(status)) return 'invalid :status';
  }
  const length = map['content-length'];
  if (length !== undefined && !digits(length)) return 'invalid content-length';
  return map;
}

/** A request's pseudo-headers (§8.3.1, §8.5); undefined when they are complete. */
function checkRequestPseudo(map: HeaderMap, seen: number): Malformed | undefined {
  if ((seen & METHOD) === 0) return 'missing :method';
  if (map[':method'] === 'CONNECT') {
    // §8.5: CONNECT names only the authority to tunnel to.
    if ((seen & (SCHEME | PATH)) !== 0 || (seen & AUTHORITY) === 0) return 'malformed CONNECT';
  } else {
    if ((seen & SCHEME) === 0) return 'missing :scheme';
    if ((seen & PATH) === 0) return 'missing :path';
    if ((map[':path'] as string).length === 0) return 'empty :path';
  }
  return undefined;
}

/** The bit of a pseudo-header defined for `kind`, or 0. */
function pseudoBit(name: string, kind: MessageKind): number {
  if (kind === MessageKind.REQUEST) {
    switch (name) {
      case ':method':
        return METHOD;
      case ':scheme':
        return SCHEME;
      case ':path':
        return PATH;
      case ':authority':
        return AUTHORITY;
      default:
        return 0;
    }
  }
  return kind === MessageKind.RESPONSE && name === ':status' ? STATUS : 0;
}

/** A regular field's connection-specific rules (§8.2.2); undefined when it is fine. */
function checkRegular(name: string, value: string, kind: MessageKind): Malformed | undefined {
  const n = name.length;
  // Only names of these lengths can be connection-specific: most fields pass on one comparison.
  switch (n) {
    case 2:
      if (name === 'te' && (kind === MessageKind.RESPONSE || value !== 'trailers'))
        return 'te other than "trailers"';
      return undefined;
    case 7:
      return name === 'upgrade' ? 'connection-specific field upgrade' : undefined;
    case 10:
      return name === 'connection' || name === 'keep-alive' ? `connection-specific field ${name}` : undefined;
    case 16:
      return name === 'proxy-connection' ? 'connection-specific field proxy-connection' : undefined;
    case 17:
      return name === 'transfer-encoding' ? 'connection-specific field transfer-encoding' : undefined;
    default:
      return undefined;
  }
}

function digits(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** The declared `content-length` of a checked map, or -1 without one. */
export function declaredLength(map: HeaderMap): number {
  const length = map['content-length'];
  return length === undefined ? -1 : Number(length);
}

/** A server's request HEADERS (`flags` as the header block assembler gives them). */
export function requestHeaders(
  fields: readonly HeaderField[],
  flags: number,
  invalid: number,
): HeaderMap | Malformed {
  if ((flags & SELF_DEPENDENT) !== 0) return 'stream depends on itself'; // §5.3.1
  const headers = checkedHeaderMap(fields, MessageKind.REQUEST, invalid);
  if (typeof headers === 'string' || (flags & Flag.END_STREAM) === 0 || declaredLength(headers) <= 0)
    return headers;
  return 'content-length without DATA';
}

/**
 * HEADERS on an open stream: a client's response (which sets the stream's content-length), or
 * trailers. Undefined for an informational (1xx) response, which is skipped.
 */
export function laterHeaders(
  stream: H2Stream,
  fields: readonly HeaderField[],
  endStream: boolean,
  client: boolean,
  invalid: number,
): HeaderMap | Malformed | undefined {
  const response = client && !stream.gotHeaders;
  // After the request's or the final response's HEADERS, only trailers with END_STREAM (§8.1).
  if (!response && !endStream) return 'trailers without END_STREAM';
  const headers = checkedHeaderMap(fields, response ? MessageKind.RESPONSE : MessageKind.TRAILERS, invalid);
  if (typeof headers === 'string') return headers;
  if (response) {
    const status = headers[':status'] as string;
    if (status.charCodeAt(0) === 0x31)
      return endStream ? 'informational response with END_STREAM' : undefined;
    if (status !== '204' && status !== '304') stream.contentLength = declaredLength(headers);
  }
  if (endStream && stream.contentLength >= 0 && stream.received !== stream.contentLength)
    return 'DATA differs from content-length';
  return headers;
}

/** Counts `n` DATA octets against the stream's content-length; false when they cannot match it. */
export function countData(stream: H2Stream, n: number, end: boolean): boolean {
  stream.received += n;
  return stream.received <= stream.contentLength && (!end || stream.received === stream.contentLength);
}
