-- Passive checks with the semantics of nginx's max_fails and fail_timeout: a peer that fails
-- max_fails times within fail_timeout seconds is skipped for the next fail_timeout seconds; then it
-- gets traffic again and the count starts over. max_fails = 0 turns them off.
--
-- A failure is what nginx itself calls one: ngx.balancer.get_last_failure() says "failed" for a
-- try that proxy_next_upstream retries because of an error, a timeout or a bad status (not for
-- http_403 and http_404, which it says "next" for); the log phase adds the last try of a request
-- when nginx got no response from it at all (see the module's log()).
--
-- The counts and the skipped peers live in the shared dict, so every worker skips a peer that any
-- worker saw fail: the worker that counts the failure at once, the others from their next refresh
-- (they reload the skipped peers when the dict's counter moves). One object per worker and
-- instance; the request path reads only its own table, and writes to the dict only on a failure.

local shm = require "resty.dockhealth.shm"

local ngx = ngx
local WARN = ngx.WARN
local ERR = ngx.ERR
local pairs = pairs
local setmetatable = setmetatable
local tostring = tostring

local _M = { _VERSION = "0.1.0" }

local Passive = {}
local mt = { __index = Passive }

--- A worker's passive checks for an instance.
-- @param inst the instance: its dict, its key prefix, max_fails, fail_timeout and log are used
function _M.new(inst)
    local prefix = inst.prefix .. "passive:"
    return setmetatable({
        inst = inst,
        prefix = prefix,
        gen_key = prefix .. "gen",
        -- addr -> the time until which the peer is skipped, as far as this worker knows.
        down = {},
        gen = false,
    }, mt)
end

--- Counts a failure of peer at now; the max_fails-th within fail_timeout makes every worker skip
-- the peer for fail_timeout seconds.
function Passive:failed(peer, now)
    local inst = self.inst
    local max_fails = inst.max_fails
    if max_fails == 0 then
        return
    end
    local dict, addr = inst.dict, peer.addr
    local fails_key = self.prefix .. "fails:" .. addr
    local fails, err = dict:incr(fails_key, 1, 0, inst.fail_timeout)
    if not fails then
        inst:log(ERR, "cannot count a failure of peer ", addr, " in the shared dict: ", tostring(err))
        return
    end
    if fails < max_fails then
        return
    end
    local until_ = now + inst.fail_timeout
    self.down[addr] = until_
    shm.set(dict, self.prefix .. "down:" .. addr, until_, inst.fail_timeout)
    shm.delete(dict, fails_key)
    shm.bump(dict, self.gen_key)
    inst:log(WARN, "peer ", addr, peer.name and (" (" .. peer.name .. ")") or "", " failed ", fails,
        " time(s) within ", inst.fail_timeout, " s: skipped for ", inst.fail_timeout, " s")
end

--- Reloads the skipped peers among addrs (a set) from the dict, if any worker marked one since the
-- last reload or if force. True when it reloaded.
function Passive:sync(addrs, force)
    if self.inst.max_fails == 0 then
        return false
    end
    local dict = self.inst.dict
    local gen = dict:get(self.gen_key) or 0
    if gen == self.gen and not force then
        return false
    end
    self.gen = gen
    local down = {}
    for addr in pairs(addrs) do
        local until_ = dict:get(self.prefix .. "down:" .. addr)
        if until_ then
            down[addr] = until_
        end
    end
    self.down = down
    return true
end

--- The peers skipped now, with the seconds left: { [addr] = seconds }.
function Passive:skipped(now)
    local out = {}
    for addr, until_ in pairs(self.down) do
        if until_ > now then
            out[addr] = until_ - now
        end
    end
    return out
end

return _M
