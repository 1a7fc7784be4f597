/**
 * Lua scripts for `state.redis`. Layout as components-contrib: one hash per key with fields
 * `data` and `version`; the ETag is `version`, an integer bumped by HINCRBY on every write.
 * Scripts make check-and-write atomic. Errors come back as replies starting with `ETAG_MISMATCH`.
 */

/** Reply prefix a script uses to report a failed ETag or first-write check. */
export const MISMATCH = 'ETAG_MISMATCH';

/** GET: KEYS[1]; returns {data, version, pttl} or nil. */
export const GET_SCRIPT = `
local d = redis.call('HMGET', KEYS[1], 'data', 'version')
if not d[2] then return nil end
return {d[1], d[2], redis.call('PTTL', KEYS[1])}
`;

/**
 * SET: KEYS[1]; ARGV = data, etag ('' = none), firstWrite ('1'/'0'), ttlSeconds ('0' = none).
 * A write without TTL clears an earlier one, so a key's expiry always follows its last write.
 */
export const SET_SCRIPT = `
local v = redis.call('HGET', KEYS[1], 'version')
if ARGV[2] ~= '' then
  if (not v) or v ~= ARGV[2] then return redis.error_reply('${MISMATCH} ' .. KEYS[1]) end
elseif ARGV[3] == '1' and v then
  return redis.error_reply('${MISMATCH} ' .. KEYS[1])
end
redis.call('HSET', KEYS[1], 'data', ARGV[1])
local nv = redis.call('HINCRBY', KEYS[1], 'version', 1)
local ttl = tonumber(ARGV[4])
if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
return nv
`;

/** DELETE: KEYS[1]; ARGV = etag ('' = none). */
export const DELETE_SCRIPT = `
if ARGV[1] ~= '' then
  local v = redis.call('HGET', KEYS[1], 'version')
  if (not v) or v ~= ARGV[1] then return redis.error_reply('${MISMATCH} ' .. KEYS[1]) end
end
return redis.call('DEL', KEYS[1])
`;

/**
 * MULTI: KEYS = one key per operation; ARGV = 5 per operation: op ('u'/'d'), etag, firstWrite,
 * ttlSeconds, data. Every check runs first, against the state the earlier operations would
 * leave, and only then are writes applied: one mismatch means nothing is written.
 */
export const MULTI_SCRIPT = `
local seen = {}
for i = 1, #KEYS do
  local k = KEYS[i]
  local base = (i - 1) * 5
  local op, etag, fw = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]
  local exists, version
  if seen[k] ~= nil then
    exists, version = seen[k].exists, seen[k].version
  else
    version = redis.call('HGET', k, 'version')
    exists = version ~= false and version ~= nil
  end
  if etag ~= '' then
    if (not exists) or version ~= etag then return redis.error_reply('${MISMATCH} ' .. k) end
  elseif op == 'u' and fw == '1' and exists then
    return redis.error_reply('${MISMATCH} ' .. k)
  end
  if op == 'u' then
    -- A later operation on the same key can only match the version this one will write.
    local nv = exists and (tonumber(version) + 1) or 1
    seen[k] = {exists = true, version = tostring(nv)}
  else
    seen[k] = {exists = false, version = false}
  end
end
for i = 1, #KEYS do
  local k = KEYS[i]
  local base = (i - 1) * 5
  if ARGV[base + 1] == 'u' then
    redis.call('HSET', k, 'data', ARGV[base + 5])
    redis.call('HINCRBY', k, 'version', 1)
    local ttl = tonumber(ARGV[base + 4])
    if ttl > 0 then redis.call('EXPIRE', k, ttl) else redis.call('PERSIST', k) end
  else
    redis.call('DEL', k)
  end
end
return #KEYS
`;
