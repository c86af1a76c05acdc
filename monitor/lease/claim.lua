-- claim.lua: claim the tick ARGV[2] (Unix ms) for one run, under the lease.
-- KEYS[1] the lease, KEYS[2] the job's mark: "<last tick claimed> <run nonce>".
-- ARGV[1] token, ARGV[2] tick, ARGV[3] run nonce, ARGV[4] TTL ms,
-- ARGV[5] == "1" when the caller may take a free lease.
-- Returns  1: the run may go: the token holds the lease (TTL restarted) and the
--             mark is now this tick;
--          0: this tick or a later one was already claimed;
--         -1: another token holds the lease (or it is free and may not be taken).
-- The mark only moves forward, so a tick is claimed at most once however
-- late a replica asks; a retry of the same run (same nonce) gets its claim back.
local mark = redis.call('GET', KEYS[2])
if mark then
	local last, nonce = string.match(mark, '^(%-?%d+) (%S+)$')
	if last == ARGV[2] and nonce == ARGV[3] and redis.call('GET', KEYS[1]) == ARGV[1] then
		return 1
	end
	if last and tonumber(last) >= tonumber(ARGV[2]) then
		return 0
	end
end
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
	redis.call('PEXPIRE', KEYS[1], ARGV[4])
elseif not holder and ARGV[5] == '1' then
	redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
else
	return -1
end
redis.call('SET', KEYS[2], ARGV[2] .. ' ' .. ARGV[3])
return 1
