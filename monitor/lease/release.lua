-- release.lua: delete the lease KEYS[1] only if the token ARGV[1] holds it.
-- Returns 1 when it was deleted.
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
