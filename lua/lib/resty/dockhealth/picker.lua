-- Round-robin over a list of peers, weighted when weights differ. Pure Lua: no ngx, so it runs in
-- balancer_by_lua (which cannot yield) and in unit tests alike.
--
-- A peer is { addr = "10.0.0.1:80", host = "10.0.0.1", port = 80, weight = 1, ... }. The list is
-- never changed once built; the cursor holds this worker's position in it. Only a request's first
-- pick moves the cursor: a retry (proxy_next_upstream) takes the next untried peer after the first
-- pick, so that a failing peer never skews the rotation the next request sees.
--
-- down, where a function takes it, maps a peer's addr to the time (ngx.now()) until which the
-- passive checks skip it; such a peer is picked only when no other one is left.

local ipairs = ipairs

local _M = { _VERSION = "0.1.0" }

local function is_down(p, down, now)
    local until_ = down and down[p.addr]
    return until_ ~= nil and until_ > now
end

-- Smooth weighted round-robin (the algorithm of nginx's own upstream round-robin) over the peers
-- that are not down (all of them with down = nil). The index picked, or nil if none may be.
local function weighted(c, down, now)
    local peers, current = c.peers, c.current
    local best, total = nil, 0
    for i = 1, c.n do
        local p = peers[i]
        if not is_down(p, down, now) then
            local w = current[i] + p.weight
            current[i] = w
            total = total + p.weight
            if not best or w > current[best] then
                best = i
            end
        end
    end
    if best then
        current[best] = current[best] - total
    end
    return best
end

local function plain(c, down, now)
    local n, i = c.n, c.last
    for _ = 1, n do
        i = i % n + 1
        if not is_down(c.peers[i], down, now) then
            c.last = i
            return i
        end
    end
    return nil
end

--- A cursor over peers. offset picks are skipped from the start, so that workers (offset = the
-- worker's id) do not all send their first request to the same peer.
-- @tparam table peers the list, never changed afterwards
-- @tparam[opt] number offset
function _M.cursor(peers, offset)
    local n = #peers
    local c = { peers = peers, n = n, last = 0 }
    local weighted_list, total = false, 0
    for _, p in ipairs(peers) do
        total = total + p.weight
        if p.weight ~= peers[1].weight then
            weighted_list = true
        end
    end
    if weighted_list then
        local current = {}
        for i = 1, n do
            current[i] = 0
        end
        c.current = current
        for _ = 1, (offset or 0) % total do
            weighted(c)
        end
    elseif n > 0 then
        c.last = (offset or 0) % n
    end
    return c
end

--- A request's first peer, and the rotation moves on: the next peer that is not down, or the next
-- peer at all when every one is down.
-- @treturn[1] table the peer
-- @treturn[1] number its index, for retry
-- @treturn[2] nil when the list is empty
function _M.pick(c, down, now)
    if c.n == 0 then
        return nil
    end
    local pick = c.current and weighted or plain
    local i = pick(c, down, now) or pick(c)
    return c.peers[i], i
end

--- A retry's peer: the first after index from, in list order, that tried does not hold (a set of
-- addrs) and that is not down, else the first untried one that is down; nil once every peer has
-- been tried. The cursor does not move.
function _M.retry(c, from, tried, down, now)
    local n, peers = c.n, c.peers
    local i, fallback = from, nil
    for _ = 1, n do
        i = i % n + 1
        local p = peers[i]
        if not tried[p.addr] then
            if not is_down(p, down, now) then
                return p
            end
            fallback = fallback or p
        end
    end
    return fallback
end

return _M
