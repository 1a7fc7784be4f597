/** The HPACK static table (RFC 7541 Appendix A) and the lookups the encoder needs, built once. */

/** Static table entries; entry i (0-based) has HPACK index i + 1. */
export const STATIC_TABLE: readonly (readonly [name: string, value: string])[] = Object.freeze(
  (
    [
      [':authority', ''],
      [':method', 'GET'],
      [':method', 'POST'],
      [':path', '/'],
      [':path', '/index.html'],
      [':scheme', 'http'],
      [':scheme', 'https'],
      [':status', '200'],
      [':status', '204'],
      [':status', '206'],
      [':status', '304'],
      [':status', '400'],
      [':status', '404'],
      [':status', '500'],
      ['accept-charset', ''],
      ['accept-encoding', 'gzip, deflate'],
      ['accept-language', ''],
      ['accept-ranges', ''],
      ['accept', ''],
      ['access-control-allow-origin', ''],
      ['age', ''],
      ['allow', ''],
      ['authorization', ''],
      ['cache-control', ''],
      ['content-disposition', ''],
      ['content-encoding', ''],
      ['content-language', ''],
      ['content-length', ''],
      ['content-location', ''],
      ['content-range', ''],
      ['content-type', ''],
      ['cookie', ''],
      ['date', ''],
      ['etag', ''],
      ['expect', ''],
      ['expires', ''],
      ['from', ''],
      ['host', ''],
      ['if-match', ''],
      ['if-modified-since', ''],
      ['if-none-match', ''],
      ['if-range', ''],
      ['if-unmodified-since', ''],
      ['last-modified', ''],
      ['link', ''],
      ['location', ''],
      ['max-forwards', ''],
      ['proxy-authenticate', ''],
      ['proxy-authorization', ''],
      ['range', ''],
      ['referer', ''],
      ['refresh', ''],
      ['retry-after', ''],
      ['server', ''],
      ['set-cookie', ''],
      ['strict-transport-security', ''],
      ['transfer-encoding', ''],
      ['user-agent', ''],
      ['vary', ''],
      ['via', ''],
      ['www-authenticate', ''],
    ] as [string, string][]
  ).map((field) => Object.freeze(field)),
);

/** Number of static entries; dynamic table indexes start right after it. */
export const STATIC_TABLE_LENGTH = 61;

/** Static-table facts about one header name: its lowest index and the index of each listed value. */
export interface StaticName {
  /** Lowest HPACK index with this name. */
  readonly index: number;
  /** HPACK index of each value listed for this name (an empty value is a value too). */
  readonly values: ReadonlyMap<string, number>;
}

/** Static-table lookup by header name, for the encoder. */
export const STATIC_NAMES: ReadonlyMap<string, StaticName> = buildNameLookup();

function buildNameLookup(): ReadonlyMap<string, StaticName> {
  const map = new Map<string, { index: number; values: Map<string, number> }>();
  STATIC_TABLE.forEach(([name, value], i) => {
    let entry = map.get(name);
    if (entry === undefined) {
      entry = { index: i + 1, values: new Map() };
      map.set(name, entry);
    }
    if (!entry.values.has(value)) entry.values.set(value, i + 1);
  });
  return map;
}
