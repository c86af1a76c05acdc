-- One cancellation's write, all or nothing: a compare-and-set on its version,
-- then its blob, status index, active-licence index, history and probe
-- history together, and a change notice naming it.
-- KEYS: 1 blob, 2 history, 3 active licences (hash licence -> id),
--       4 status index it leaves, 5 status index it enters, 6 probe history,
--       7 change sequence, 8 change stream
-- ARGV: 1 id, 2 expected version (0 creates), 3 new blob ("" removes),
--       4 active licence it held (""), 5 active licence it holds (""),
--       6 history line ("" for none),
--       7, 8 the other spellings of 4 and 5, newline-separated: fields under
--       which an index written before licence keys were folded holds them,
--       9 probe history JSON ("" leaves it), 10 how many notices the stream keeps
local id = ARGV[1]
local expected = tonumber(ARGV[2])
local cur = redis.call('GET', KEYS[1])
-- The client may send a script again after a timeout or a broken connection.
-- Each write's history line (or, for a write without one, its document,
-- which carries a new version and timestamp) is unique: finding it means an
-- earlier run of this very write took effect. A write of the probe history
-- alone always comes with a new document too.
if ARGV[6] ~= '' then
  local h = redis.call('GET', KEYS[2])
  if h and string.find(h, ARGV[6], 1, true) then return {'ok'} end
elseif ARGV[3] ~= '' and cur == ARGV[3] then
  return {'ok'}
end
if expected == 0 then
  -- a history outlives removal, so an ID is never reused
  if cur or redis.call('EXISTS', KEYS[2]) == 1 then return {'duplicate-id'} end
elseif not cur then
  if redis.call('EXISTS', KEYS[2]) == 1 then return {'removed'} end
  return {'not-found'}
elseif cjson.decode(cur)['version'] ~= expected then
  return {'conflict'}
end

local held, holds = ARGV[4], ARGV[5]
local function with_spellings(key, others, into)
  if key ~= '' then into[#into + 1] = key end
  for f in string.gmatch(others, '[^\n]+') do into[#into + 1] = f end
  return into
end
if holds ~= '' then
  for _, f in ipairs(with_spellings(holds, ARGV[8], {})) do
    local owner = redis.call('HGET', KEYS[3], f)
    if owner and owner ~= id then return {'duplicate-licence', owner} end
  end
end
-- Release what it held, in any spelling: an old spelling of the key it
-- keeps holding moves to the key.
for _, f in ipairs(with_spellings(holds, ARGV[8], with_spellings(held, ARGV[7], {}))) do
  if f ~= holds and redis.call('HGET', KEYS[3], f) == id then
    redis.call('HDEL', KEYS[3], f)
  end
end
if holds ~= '' then redis.call('HSET', KEYS[3], holds, id) end

if KEYS[4] ~= KEYS[5] then redis.call('SREM', KEYS[4], id) end
if ARGV[3] == '' then
  -- the probe history was part of the document once, and goes with it
  redis.call('DEL', KEYS[1], KEYS[6])
  redis.call('SREM', KEYS[5], id)
else
  redis.call('SET', KEYS[1], ARGV[3])
  redis.call('SADD', KEYS[5], id)
  if ARGV[9] ~= '' then redis.call('SET', KEYS[6], ARGV[9]) end
end
if ARGV[6] ~= '' then redis.call('APPEND', KEYS[2], ARGV[6]) end
-- Only a write that took effect gets here: refusals and repeats returned above.
local seq = redis.call('INCR', KEYS[7])
redis.call('XADD', KEYS[8], 'MAXLEN', '~', ARGV[10], '*', 'seq', seq, 'ids', id)
return {'ok'}
