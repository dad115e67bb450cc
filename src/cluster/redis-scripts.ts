/**
 * The Lua scripts of the Redis engine. Each runs atomically on the server (EVALSHA, with EVAL when the
 * server forgot the script, after a restart), so check-and-set, renewal and release never interleave
 * with another node's.
 *
 * **Key layout** (`ns` is the cluster's namespace, default `roster`):
 *
 * | key | type | holds |
 * |---|---|---|
 * | `ns:inc` | counter | the last node incarnation given out (INCR on join) |
 * | `ns:epoch` | string | a random id written when the keyspace is first used, and replaced when a node finds it lost (a restart without persistence): how a node tells data loss from its own lease running out |
 * | `ns:fence` | counter | the last fencing token given out (INCR on every name acquisition) |
 * | `ns:members` | hash | node name → incarnation of every member not yet declared down |
 * | `ns:hb:<node>` | string, PX lease | the node's incarnation: the node's lease. Missing = lease lapsed |
 * | `ns:owned:<node>` | set | the names the node acquired (cleaned when it is declared down) |
 * | `ns:n:<name>` | hash | `node`, `inc`, `pid`, `fence`, `val` of a name's holder |
 *
 * **A name is held** while its hash exists **and** the holder's heartbeat key holds the holder's
 * incarnation. Names share their node's lease: one renewal per node per heartbeat, whatever the number
 * of names. Every script that changes a name publishes the name on `ns:inv`, so nodes drop it from their
 * lookup caches; membership changes are published on `ns:ev`.
 *
 * These scripts touch keys they compute (another node's heartbeat key), so they need a single Redis
 * primary (with or without replicas and Sentinel), not Redis Cluster.
 *
 * @module
 */

/** Releases every name of `node`@`inc` (a Lua function prepended to the scripts that declare nodes down). */
const kReleaseFn = `
local function release_node(ns, node, inc)
  local owned = ns .. ':owned:' .. node
  for _, k in ipairs(redis.call('SMEMBERS', owned)) do
    local nk = ns .. ':n:' .. k
    local h = redis.call('HMGET', nk, 'node', 'inc')
    if h[1] == node and h[2] == inc then
      redis.call('DEL', nk)
      redis.call('PUBLISH', ns .. ':inv', k)
    end
  end
  redis.call('DEL', owned)
end
`;

/**
 * JOIN. ARGV: ns, node, lease ms, epoch candidate. A live node of the same name refuses (`{'taken',
 * inc}`); a lapsed one is declared down first (its names released). Returns `{'ok', inc, epoch}`.
 */
export const kJoin = `${kReleaseFn}
local ns, node, lease = ARGV[1], ARGV[2], ARGV[3]
local epoch = redis.call('GET', ns .. ':epoch')
if not epoch then
  epoch = ARGV[4]
  redis.call('SET', ns .. ':epoch', epoch)
end
local hb = ns .. ':hb:' .. node
local live = redis.call('GET', hb)
if live then return {'taken', live} end
local old = redis.call('HGET', ns .. ':members', node)
if old then
  release_node(ns, node, old)
  redis.call('PUBLISH', ns .. ':ev', 'down ' .. node .. ' ' .. old)
end
local inc = redis.call('INCR', ns .. ':inc')
redis.call('SET', hb, inc, 'PX', lease)
redis.call('HSET', ns .. ':members', node, inc)
redis.call('PUBLISH', ns .. ':ev', 'up ' .. node .. ' ' .. inc)
return {'ok', inc, epoch}
`;

/**
 * HEARTBEAT. ARGV: ns, node, inc, lease ms, reassert (1/0), fence floor, epoch the node knows, epoch
 * candidate. Renews the node's lease if it still holds it (`{'ok'}`). If the key is gone, the node says
 * its lease cannot have run out yet (reassert = 1), **and** the epoch is not the one the node knows,
 * Redis lost its data (a restart without persistence): the lease is written back, the fence counter
 * raised to the floor, and `{'reasserted', epoch}` returned (the first node to notice writes a new
 * epoch). Otherwise `{'lost'}`: a node paused past its lease finds its epoch unchanged, whatever its
 * clock said when it sent this.
 */
export const kHeartbeat = `
local ns, node, inc, lease, reassert, floor = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local hb = ns .. ':hb:' .. node
local cur = redis.call('GET', hb)
if cur == inc then
  redis.call('PEXPIRE', hb, lease)
  return {'ok'}
end
local epoch = redis.call('GET', ns .. ':epoch')
if cur == false and reassert == '1' and epoch ~= ARGV[7] then
  if not epoch then
    epoch = ARGV[8]
    redis.call('SET', ns .. ':epoch', epoch)
  end
  redis.call('SET', hb, inc, 'PX', lease)
  redis.call('HSET', ns .. ':members', node, inc)
  local f = tonumber(redis.call('GET', ns .. ':fence') or '0')
  if f < floor then redis.call('SET', ns .. ':fence', floor) end
  local i = tonumber(redis.call('GET', ns .. ':inc') or '0')
  if i < tonumber(inc) then redis.call('SET', ns .. ':inc', inc) end
  return {'reasserted', epoch}
end
return {'lost'}
`;

/**
 * SWEEP. ARGV: ns. Declares down every member whose heartbeat key is gone or holds another
 * incarnation: removes it, releases its names, publishes `down`. Returns the remaining members as a
 * flat list `node, inc, …`. Runs on every node every sweep period; atomicity makes one of them win.
 */
export const kSweep = `${kReleaseFn}
local ns = ARGV[1]
local members = ns .. ':members'
local m = redis.call('HGETALL', members)
local out = {}
for i = 1, #m, 2 do
  local node, inc = m[i], m[i + 1]
  if redis.call('GET', ns .. ':hb:' .. node) ~= inc then
    redis.call('HDEL', members, node)
    release_node(ns, node, inc)
    redis.call('PUBLISH', ns .. ':ev', 'down ' .. node .. ' ' .. inc)
  else
    out[#out + 1] = node
    out[#out + 1] = inc
  end
end
return out
`;

/** LEAVE. ARGV: ns, node, inc. Releases the node's names and membership if it still holds its lease. */
export const kLeave = `${kReleaseFn}
local ns, node, inc = ARGV[1], ARGV[2], ARGV[3]
local hb = ns .. ':hb:' .. node
if redis.call('GET', hb) ~= inc then return 0 end
release_node(ns, node, inc)
redis.call('DEL', hb)
redis.call('HDEL', ns .. ':members', node)
redis.call('PUBLISH', ns .. ':ev', 'down ' .. node .. ' ' .. inc)
return 1
`;

/**
 * REGISTER. ARGV: ns, name, node, inc, pid, value, fence floor. Refuses with `{'lost'}` when the caller's
 * own lease lapsed, and with `{'taken', node, inc, pid, fence, val}` when a live holder has the name.
 * Otherwise takes it (a holder whose lease lapsed loses it here) under a new fencing token from INCR,
 * never below the floor: `{'ok', fence}`.
 */
export const kRegister = `
local ns, name, node, inc, pid, val, floor = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7])
if redis.call('GET', ns .. ':hb:' .. node) ~= inc then return {'lost'} end
local nk = ns .. ':n:' .. name
local h = redis.call('HMGET', nk, 'node', 'inc', 'pid', 'fence', 'val')
if h[1] then
  if redis.call('GET', ns .. ':hb:' .. h[1]) == h[2] then
    return {'taken', h[1], h[2], h[3], h[4], h[5]}
  end
  redis.call('SREM', ns .. ':owned:' .. h[1], name)
end
local fence = redis.call('INCR', ns .. ':fence')
if fence <= floor then
  fence = floor + 1
  redis.call('SET', ns .. ':fence', fence)
end
redis.call('DEL', nk)
redis.call('HSET', nk, 'node', node, 'inc', inc, 'pid', pid, 'fence', fence, 'val', val)
redis.call('SADD', ns .. ':owned:' .. node, name)
redis.call('PUBLISH', ns .. ':inv', name)
return {'ok', fence}
`;

/**
 * REASSERT. ARGV: ns, name, node, inc, pid, fence, value. After Redis lost its data, writes back a name
 * the caller held under the same fence, unless somebody else took it meanwhile. Returns 1 if the caller
 * holds it afterwards (and publishes an invalidation, which the caller expects).
 */
export const kReassert = `
local ns, name, node, inc, pid, fence, val = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if redis.call('GET', ns .. ':hb:' .. node) ~= inc then return 0 end
local nk = ns .. ':n:' .. name
local h = redis.call('HMGET', nk, 'node', 'inc', 'fence')
if h[1] then
  if h[1] == node and h[2] == inc and h[3] == fence then
    redis.call('PUBLISH', ns .. ':inv', name)
    return 1
  end
  if redis.call('GET', ns .. ':hb:' .. h[1]) == h[2] then return 0 end
end
redis.call('DEL', nk)
redis.call('HSET', nk, 'node', node, 'inc', inc, 'pid', pid, 'fence', fence, 'val', val)
redis.call('SADD', ns .. ':owned:' .. node, name)
redis.call('PUBLISH', ns .. ':inv', name)
return 1
`;

/**
 * FENCED WRITE. ARGV: ns, name, node, inc, fence, op ('set' with a value, or 'del'). Applies only if the
 * caller's lease holds and the name's token is the caller's: `{'ok'}`. Otherwise `{'fenced', current
 * token or false}` and nothing changes.
 */
export const kFenced = `
local ns, name, node, inc, fence, op, val = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local nk = ns .. ':n:' .. name
local cur = redis.call('HGET', nk, 'fence')
if redis.call('GET', ns .. ':hb:' .. node) ~= inc or cur ~= fence then return {'fenced', cur} end
if op == 'del' then
  redis.call('DEL', nk)
  redis.call('SREM', ns .. ':owned:' .. node, name)
else
  redis.call('HSET', nk, 'val', val)
end
redis.call('PUBLISH', ns .. ':inv', name)
return {'ok'}
`;

/**
 * LOOKUP. ARGV: ns, name. `{node, inc, pid, fence, val, ttl}` of a live holder (ttl: ms left on the
 * holder's lease), or an empty list.
 */
export const kLookup = `
local ns, name = ARGV[1], ARGV[2]
local h = redis.call('HMGET', ns .. ':n:' .. name, 'node', 'inc', 'pid', 'fence', 'val')
if not h[1] then return {} end
local hb = ns .. ':hb:' .. h[1]
if redis.call('GET', hb) ~= h[2] then return {} end
return {h[1], h[2], h[3], h[4], h[5], redis.call('PTTL', hb)}
`;
