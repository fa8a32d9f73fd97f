"""Lua scripts of the Redis store: work on many keys in one atomic round trip."""

from __future__ import annotations

__all__ = ["CLAIM_OWNED_VALUE", "TAKE_USER_SUMMARIES", "TAKE_USER_VALUES"]

# Helpers of the take scripts. The owner of a value is its top-level "user_id" compared
# as a string, like str(record.user_id) in Python: an integer compares by its digits.
# When "user_id" is the first field, as pydantic writes it for every model that
# declares it first, the digits are read from the raw JSON, so ids past 2^53 keep every
# digit. A value owned by anyone else stays stored and listed, so a stale index entry
# never ends another user's value.
# NOTE: an owner that is neither a string nor an integer (a float, a boolean), or an
# integer past 2^53 in a later field, which cjson cannot read exactly, never matches
# here, so such values stay stored.
_TAKE_HELPERS = """
-- The owner written first and plainly, as pydantic writes a model whose first field
-- is user_id, or nil when the text does not start that way.
local function leading_owner(text)
  return string.match(text, '^{"user_id":(-?%d+)[,}]')
    or string.match(text, '^{"user_id":"([^"\\\\]*)"[,}]')
end

local function owner_of(raw)
  local leading = leading_owner(raw)
  if leading then return leading end
  local ok, document = pcall(cjson.decode, raw)
  if not ok or type(document) ~= 'table' then return nil end
  local owner = document['user_id']
  if type(owner) == 'string' then return owner end
  if type(owner) == 'number' and owner == math.floor(owner)
      and math.abs(owner) < 9007199254740992 then
    return string.format('%d', owner)
  end
  return nil
end

-- Commands go out in slices: unpack() of a very long list overflows the Lua stack,
-- and one MGET or DEL per slice costs far less than one call per key.
local SLICE = 1000
local function each_slice(list, command)
  local replies = {}
  for first = 1, #list, SLICE do
    local last = math.min(first + SLICE - 1, #list)
    local reply = command(unpack(list, first, last))
    if type(reply) == 'table' then
      for _, item in ipairs(reply) do replies[#replies + 1] = item end
    end
  end
  return replies
end

local function listed_ids()
  local keep = {}
  for i = 3, #ARGV do keep[ARGV[i]] = true end
  local ids = {}
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
    if not keep[id] then ids[#ids + 1] = id end
  end
  return ids
end

-- Removes the listed values that ARGV[2] owns, reading each one. Appends each id that
-- leaves the index to unlisted, and returns flat id, raw value pairs.
local function take_owned(ids, unlisted)
  local keys = {}
  for i, id in ipairs(ids) do keys[i] = ARGV[1] .. id end
  local raws = each_slice(keys, function(...) return redis.call('MGET', ...) end)
  local removed = {}
  local doomed = {}
  for i, id in ipairs(ids) do
    local raw = raws[i]
    if not raw then
      unlisted[#unlisted + 1] = id
    elseif owner_of(raw) == ARGV[2] then
      doomed[#doomed + 1] = keys[i]
      unlisted[#unlisted + 1] = id
      removed[#removed + 1] = id
      removed[#removed + 1] = raw
    end
  end
  each_slice(doomed, function(...) return redis.call('DEL', ...) end)
  return removed
end

-- When every listed id leaves, both keys go at once, which costs less than unlisting
-- each id. A summary without an entry in the set is stale, so it may go with them.
local function unlist(unlisted)
  if #unlisted == redis.call('SCARD', KEYS[1]) then
    redis.call('DEL', KEYS[1], KEYS[2])
    return
  end
  each_slice(unlisted, function(...) return redis.call('SREM', KEYS[1], ...) end)
  each_slice(unlisted, function(...) return redis.call('HDEL', KEYS[2], ...) end)
end
"""

# KEYS[1]: the user's index set. KEYS[2]: the user's summary hash. ARGV[1]: the value
# key prefix. ARGV[2]: the owner as a string. ARGV[3..]: ids to keep. Returns a flat
# list of id, raw value pairs.
TAKE_USER_VALUES = (
    _TAKE_HELPERS
    + """
local unlisted = {}
local removed = take_owned(listed_ids(), unlisted)
unlist(unlisted)
return removed
"""
)

# The same keys and arguments as TAKE_USER_VALUES. Returns two flat lists: id, summary
# pairs of the values listed with a summary, and id, raw value pairs of the values
# listed without one, which are taken as TAKE_USER_VALUES takes them.
#
# A value listed with a summary is not returned, so only its first bytes are read:
# they start with its "user_id" field, which is checked as in TAKE_USER_VALUES. When
# they do not settle the owner (a very long id, another field first) the whole value
# is read. The reply of GETRANGE is empty for a value that has expired.
TAKE_USER_SUMMARIES = (
    _TAKE_HELPERS
    + """
local HEAD_BYTES = 128
local function owner_from_head(key)
  local ok, head = pcall(redis.call, 'GETRANGE', key, 0, HEAD_BYTES - 1)
  -- A key of another type, such as a capped list under the same id, is not owned.
  if not ok or head == '' then return nil end
  local owner = leading_owner(head)
  if owner then return owner end
  local raw = redis.call('GET', key)
  return raw and owner_of(raw)
end

local ids = listed_ids()
local summaries = each_slice(ids, function(...) return redis.call('HMGET', KEYS[2], ...) end)
local summarized = {}
local unsummarized = {}
local doomed = {}
local unlisted = {}
for i, id in ipairs(ids) do
  local summary = summaries[i]
  if not summary then
    unsummarized[#unsummarized + 1] = id
  else
    local key = ARGV[1] .. id
    local owner = owner_from_head(key)
    if owner == ARGV[2] then
      doomed[#doomed + 1] = key
      summarized[#summarized + 1] = id
      summarized[#summarized + 1] = summary
      unlisted[#unlisted + 1] = id
    elseif owner == nil and redis.call('EXISTS', key) == 0 then
      unlisted[#unlisted + 1] = id
    end
  end
end
each_slice(doomed, function(...) return redis.call('DEL', ...) end)
local removed = take_owned(unsummarized, unlisted)
unlist(unlisted)
return {summarized, removed}
"""
)

# KEYS[1]: the value's key. KEYS[2]: its owner's index set. KEYS[3]: its owner's
# summary hash. ARGV[1]: the value. ARGV[2]: its TTL in seconds. ARGV[3]: the id
# listed in the index. ARGV[4]: the index's TTL. ARGV[5]: the value's index summary,
# or "" for none. Returns 1 when this call stored the value, 0 when a value was there.
#
# SET NX and the index entry run in one script, so a claimed value is listed in its
# owner's index as one made with create is, and a failed claim lists nothing.
CLAIM_OWNED_VALUE = """
if not redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX') then
  return 0
end
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[4], 'NX')
redis.call('EXPIRE', KEYS[2], ARGV[4], 'GT')
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[3], ARGV[5])
  redis.call('EXPIRE', KEYS[3], ARGV[4], 'NX')
  redis.call('EXPIRE', KEYS[3], ARGV[4], 'GT')
end
return 1
"""
