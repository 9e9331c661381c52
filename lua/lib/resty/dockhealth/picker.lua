-- Round-robin over a list of peers, weighted when weights differ, skipping the peers a request
-- has already tried. Pure Lua: no ngx, so it runs in balancer_by_lua (which cannot yield) and in
-- unit tests alike.
--
-- A peer is { addr = "10.0.0.1:80", host = "10.0.0.1", port = 80, weight = 1, ... }. The list is
-- never changed once built; the cursor holds this worker's position in it.

local ipairs = ipairs

local _M = { _VERSION = "0.1.0" }

--- A cursor over peers, advanced offset picks from the start, so that workers (offset = the
-- worker's id) do not all send their first request to the same peer.
function _M.cursor(peers, offset)
    local n = #peers
    local c = { peers = peers, n = n, last = 0 }
    local weighted, total = false, 0
    for _, p in ipairs(peers) do
        total = total + p.weight
        if p.weight ~= peers[1].weight then
            weighted = true
        end
    end
    if weighted then
        local current = {}
        for i = 1, n do
            current[i] = 0
        end
        c.current = current
        for _ = 1, (offset or 0) % total do
            _M.pick(c)
        end
    elseif n > 0 then
        c.last = (offset or 0) % n
    end
    return c
end

--- The next peer, skipping those whose addr is a key of tried (which may be nil); nil when every
-- peer has been tried. Smooth weighted round-robin (the algorithm of nginx's own upstream
-- round-robin) when weights differ, plain round-robin otherwise.
function _M.pick(c, tried)
    local n, peers = c.n, c.peers
    if n == 0 then
        return nil
    end
    local current = c.current
    if not current then
        local i = c.last
        for _ = 1, n do
            i = i % n + 1
            local p = peers[i]
            if not (tried and tried[p.addr]) then
                c.last = i
                return p
            end
        end
        return nil
    end
    local best, total = nil, 0
    for i = 1, n do
        local p = peers[i]
        if not (tried and tried[p.addr]) then
            local w = current[i] + p.weight
            current[i] = w
            total = total + p.weight
            if not best or w > current[best] then
                best = i
            end
        end
    end
    if not best then
        return nil
    end
    current[best] = current[best] - total
    return peers[best]
end

--- How many peers of the cursor are not in tried.
function _M.untried(c, tried)
    local left = 0
    for _, p in ipairs(c.peers) do
        if not (tried and tried[p.addr]) then
            left = left + 1
        end
    end
    return left
end

return _M
