/**
 * The Lua scripts of the Redis pin store: an atomic get-and-touch, a generation-aware put, paged listing and size.
 * Each runs as one Redis command, so concurrent gateways never interleave inside a pin's read and write.
 */
import { createHash } from "node:crypto"

/** A Lua script and the SHA1 `EVALSHA` calls it by. */
export interface Script {
  readonly lua: string
  readonly sha: string
}

const script = (lua: string): Script => ({ lua, sha: createHash("sha1").update(lua).digest("hex") })

// Our pin keys join scope and session id with \u0001; Plano joins them with ":" (ARGV prefix .. member).
const dataKeyLua = "local function dataKey(prefix, member) return prefix .. (string.gsub(member, '\\1', ':')) end\n"

const isPinLua = "local function isPin(v) return type(v) == 'table' and " +
  "(type(v.model_name) == 'string' or type(v.anchor_model) == 'string') end\n"

// KEYS: data key, lru zset. ARGV: now, ttl seconds, member. Returns the touched value, or nil.
export const getScript = script(
  isPinLua + `
local raw = redis.call('GET', KEYS[1])
if not raw then
  redis.call('ZREM', KEYS[2], ARGV[3])
  return false
end
local ok, v = pcall(cjson.decode, raw)
if not ok or not isPin(v) then return false end
local now = tonumber(ARGV[1])
if v.created_at == nil then v.created_at = now end
v.hits = (tonumber(v.hits) or 0) + 1
v.last_used_at = now
local out = cjson.encode(v)
redis.call('SET', KEYS[1], out, 'EX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3])
return out
`
)

// KEYS: data key, lru zset. ARGV: now, ttl, member, value, expiry cutoff, max entries, prefix, generation ('' = none).
// Returns {evicted, expired}, or {0, expired, kept value} when a pin of the same or a newer generation is in place.
export const putScript = script(
  dataKeyLua + isPinLua + `
local expired = redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
if ARGV[8] ~= '' then
  local raw = redis.call('GET', KEYS[1])
  if raw then
    local ok, v = pcall(cjson.decode, raw)
    if ok and isPin(v) and tonumber(v.generation) ~= nil and tonumber(v.generation) >= tonumber(ARGV[8]) then
      return {0, expired, raw}
    end
  end
end
redis.call('SET', KEYS[1], ARGV[4], 'EX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3])
local evicted = 0
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[6])
if over > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[2], over + 1)
  for i = 1, #popped, 2 do
    local member = popped[i]
    if member == ARGV[3] or over == 0 then
      redis.call('ZADD', KEYS[2], popped[i + 1], member)
    else
      over = over - 1
      if redis.call('DEL', dataKey(ARGV[7], member)) == 1 then evicted = evicted + 1 else expired = expired + 1 end
    end
  end
end
return {evicted, expired}
`
)

// KEYS: lru zset. ARGV: prefix, min score, member after which to start at that score ('' = none), count, cutoff.
// Returns {expired members removed, member, score, value, pttl, …} in LRU order; members whose key is gone are dropped.
export const listScript = script(
  dataKeyLua + `
local removed = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[5])
local out = {removed}
local want = tonumber(ARGV[4])
local offset = 0
local found = 0
while found < want do
  local page = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], '+inf', 'WITHSCORES', 'LIMIT', offset, want + 16)
  if #page == 0 then break end
  local gone = 0
  for i = 1, #page, 2 do
    local member, score = page[i], page[i + 1]
    if found < want and not (ARGV[3] ~= '' and score == ARGV[2] and member <= ARGV[3]) then
      local key = dataKey(ARGV[1], member)
      local value = redis.call('GET', key)
      if value then
        found = found + 1
        table.insert(out, member)
        table.insert(out, score)
        table.insert(out, value)
        table.insert(out, redis.call('PTTL', key))
      else
        redis.call('ZREM', KEYS[1], member)
        gone = gone + 1
      end
    end
  end
  offset = offset + #page / 2 - gone
end
return out
`
)

// KEYS: lru zset. ARGV: cutoff. Returns {expired members removed, size}.
export const sizeScript = script(`
local removed = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return {removed, redis.call('ZCARD', KEYS[1])}
`)
