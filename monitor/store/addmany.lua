-- Many new cancellations, all or nothing: every check runs before the first
-- write. Bulk commands go in chunks small enough for Lua's unpack.
-- One change notice names the batch: its IDs, or, past notice_ids, a
-- resync that has followers reload everything rather than read them all.
-- KEYS: 1 active licences, 2 .. 1+NI the status indexes, 2+NI change
--       sequence, 3+NI change stream, then per item its blob, history and
--       probe history
-- ARGV: 1 NI, 2 n, 3 how many notices the stream keeps, then per item: id,
--       blob, history line, active licence key (""), index number (1 .. NI),
--       the key's other spellings (newline-separated: fields under which an
--       index written before keys were folded holds it), probe history JSON
--       ("" for none)
local ni, n = tonumber(ARGV[1]), tonumber(ARGV[2])
local chunk = 1000
local notice_ids = 1000
local kb = 3 + ni
local width = 7
local kw = 3 -- keys per item
local function key(i, f) return KEYS[kb + (i - 1) * kw + f] end
local function arg(i, f) return ARGV[3 + (i - 1) * width + f] end

-- A run repeated by the client after a timeout finds its own first document.
if redis.call('GET', key(1, 1)) == arg(1, 2) then return {'ok'} end

-- Every check runs; the refusal names the first item in order that fails one.
local bad, why, holder
local function found(i, reason, other)
  if not bad or i < bad then bad, why, holder = i, reason, other end
end

local function ids_unused()
  local seen = {}
  for i = 1, n do
    local id = arg(i, 1)
    if seen[id] then found(i, 'duplicate-id'); break end
    seen[id] = true
  end
  -- a history outlives removal, so an ID with one was used before
  for s = 1, n, chunk do
    local e = math.min(n, s + chunk - 1)
    local hk = {}
    for i = s, e do hk[#hk + 1] = key(i, 2) end
    if redis.call('EXISTS', unpack(hk)) > 0 then
      for i = s, e do
        if redis.call('EXISTS', key(i, 2)) == 1 then found(i, 'duplicate-id'); return end
      end
    end
  end
end

local function licences_free()
  local seen = {}
  for s = 1, n, chunk do
    local e = math.min(n, s + chunk - 1)
    local fields, at = {}, {}
    for i = s, e do
      local l = arg(i, 4)
      if l ~= '' then
        if seen[l] then found(i, 'duplicate-licence', arg(seen[l], 1)); return end
        seen[l] = i
        fields[#fields + 1] = l
        at[#at + 1] = i
        for f in string.gmatch(arg(i, 6), '[^\n]+') do
          fields[#fields + 1] = f
          at[#at + 1] = i
        end
      end
    end
    if #fields > 0 then
      local owners = redis.call('HMGET', KEYS[1], unpack(fields))
      for j = 1, #fields do
        if owners[j] then found(at[j], 'duplicate-licence', owners[j]); return end
      end
    end
  end
end

ids_unused()
licences_free()
if bad then return {why, bad, holder} end

for s = 1, n, chunk do
  local e = math.min(n, s + chunk - 1)
  local blobs, hist, probes, lic, byindex = {}, {}, {}, {}, {}
  for i = s, e do
    local id = arg(i, 1)
    blobs[#blobs + 1] = key(i, 1)
    blobs[#blobs + 1] = arg(i, 2)
    hist[#hist + 1] = key(i, 2)
    hist[#hist + 1] = arg(i, 3)
    if arg(i, 7) ~= '' then
      probes[#probes + 1] = key(i, 3)
      probes[#probes + 1] = arg(i, 7)
    end
    if arg(i, 4) ~= '' then
      lic[#lic + 1] = arg(i, 4)
      lic[#lic + 1] = id
    end
    local x = tonumber(arg(i, 5))
    local t = byindex[x]
    if not t then t = {}; byindex[x] = t end
    t[#t + 1] = id
  end
  redis.call('MSET', unpack(blobs))
  redis.call('MSET', unpack(hist))
  if #probes > 0 then redis.call('MSET', unpack(probes)) end
  if #lic > 0 then redis.call('HSET', KEYS[1], unpack(lic)) end
  for x, t in pairs(byindex) do redis.call('SADD', KEYS[1 + x], unpack(t)) end
end
local seq = redis.call('INCR', KEYS[2 + ni])
if n <= notice_ids then
  local ids = {}
  for i = 1, n do ids[i] = arg(i, 1) end
  redis.call('XADD', KEYS[3 + ni], 'MAXLEN', '~', ARGV[3], '*', 'seq', seq, 'ids', table.concat(ids, '\n'))
else
  redis.call('XADD', KEYS[3 + ni], 'MAXLEN', '~', ARGV[3], '*', 'seq', seq, 'resync', '1')
end
return {'ok'}
