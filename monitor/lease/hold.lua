-- hold.lua: make ARGV[1] the holder of the lease KEYS[1] for ARGV[2] ms.
-- ARGV[3] == "1" lets a free lease be taken; otherwise only the holder's own
-- token restarts its TTL (a renewal never brings back an expired lease).
-- Taking a lease the token already holds succeeds, so a retried obtain is
-- not mistaken for another replica's.
-- Returns 1 when ARGV[1] holds the lease now, 0 otherwise.
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
	return 1
end
if not holder and ARGV[3] == '1' then
	redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
	return 1
end
return 0
