-- A worker's view: for every service name, the peers eligible now and every peer known, built from
-- the sidecars' snapshots in the shared dict and whether each sidecar is still trusted. The
-- instance rebuilds it when the dict's generation counter moves, and re-checks the sidecars'
-- trust when the earliest of them runs out (deadline); the request path only reads it.
--
--   hosts:   a host's peer is eligible for S while its sidecar says S is SERVING;
--   local:   S's containers, each at its upstream, eligible while SERVING;
--   cluster: S's containers on every host, each at its host's address and the port of its
--            upstream, eligible while SERVING; one view merged from every sidecar, each sidecar's
--            part trusted on its own.

local snapshot = require "resty.dockhealth.snapshot"
local address = require "resty.dockhealth.address"
local picker = require "resty.dockhealth.picker"

local ngx = ngx
local ERR = ngx.ERR
local pairs = pairs
local ipairs = ipairs
local concat = table.concat
local huge = math.huge

local _M = { _VERSION = "0.1.0" }

--- Which sidecars are trusted at now, by addr, and when the first of them stops being trusted.
function _M.trust(inst, now)
    local fresh, deadline = {}, huge
    for _, sc in ipairs(inst.sidecars) do
        local until_ = sc:trusted_until()
        fresh[sc.addr] = until_ ~= nil and now < until_
        if fresh[sc.addr] and until_ < deadline then
            deadline = until_
        end
    end
    return fresh, deadline
end

-- The sidecar's snapshot content, decoded once per change.
local function decoded(inst, sc)
    local data = inst.dict:get(sc.keys.data)
    if not data then
        return nil
    end
    local cache = inst.worker.decoded
    local cached = cache[sc.addr]
    if cached and cached.data == data then
        return cached.doc
    end
    local doc, err = snapshot.decode(data)
    if not doc then
        inst:log(ERR, "sidecar ", sc.addr, ": ", err)
        return nil
    end
    cache[sc.addr] = { data = data, doc = doc }
    return doc
end

-- A container's peer. Peers are cached from one build to the next, so that a rebuild reuses the
-- tables it made before and a bad address is logged once, not on every rebuild.
local function container_peer(inst, cache, sc, upstream, container)
    local key = sc.addr .. " " .. upstream .. " " .. container
    local peer = cache[key]
    if peer == nil then
        peer = inst.worker.peer_cache[key]
    end
    if peer == nil then
        local host, port = address.parse(upstream)
        if host then
            host = sc.peer_host or host
            local addr = sc.peer_host and (host .. ":" .. port) or upstream
            peer = { addr = addr, host = host, port = port, weight = 1, name = container }
        else
            inst:log(ERR, "sidecar ", sc.addr, ": container ", container, " has an upstream the balancer",
                " cannot use: ", upstream, " (", port, ")")
            peer = false
        end
    end
    cache[key] = peer
    return peer or nil
end

-- The cursor of the previous view when the list is the same, so that a rebuild for an unrelated
-- change does not restart this worker's round-robin.
local function cursor(inst, old, list)
    local parts = {}
    for i, p in ipairs(list) do
        parts[i] = p.addr .. "*" .. p.weight .. "*" .. (p.name or "")
    end
    local signature = concat(parts, ",")
    local previous = old and old[signature]
    if previous then
        return previous, signature
    end
    return picker.cursor(list, inst.worker.id), signature
end

local function entry(services, name)
    local e = services[name]
    if not e then
        e = { eligible = {}, known = {} }
        services[name] = e
    end
    return e
end

local function add(e, addrs, peer, eligible)
    e.known[#e.known + 1] = peer
    if eligible then
        e.eligible[#e.eligible + 1] = peer
    end
    addrs[peer.addr] = true
end

--- Builds the view of inst at now from the dict, whose generation counter is gen.
-- @treturn table { gen, built_at, deadline, fresh = { [sidecar addr] = bool }, services = { [name] =
--   { eligible = cursor, known = cursor } }, addrs = { [peer addr] = true } }
function _M.build(inst, gen, now)
    local fresh, deadline = _M.trust(inst, now)
    local services, addrs = {}, {}
    if inst.topology == "hosts" then
        for _, host in ipairs(inst.hosts) do
            local sc = host.sidecar
            local doc = decoded(inst, sc)
            for _, pair in ipairs(doc and doc.services or {}) do
                add(entry(services, pair[1]), addrs, host.peer, fresh[sc.addr] and pair[2] == "SERVING")
            end
        end
    else
        local peers = {}
        for _, sc in ipairs(inst.sidecars) do
            local doc = decoded(inst, sc)
            for _, pair in ipairs(doc and doc.services or {}) do
                local e = entry(services, pair[1])
                for _, m in ipairs(pair[2]) do
                    local peer = container_peer(inst, peers, sc, m[1], m[3])
                    if peer then
                        add(e, addrs, peer, fresh[sc.addr] and m[2] == "SERVING")
                    end
                end
            end
        end
        inst.worker.peer_cache = peers
    end

    local old = inst.worker.cursors
    local cursors = {}
    for _, e in pairs(services) do
        local signature
        e.eligible, signature = cursor(inst, old, e.eligible)
        cursors[signature] = e.eligible
        e.known, signature = cursor(inst, old, e.known)
        cursors[signature] = e.known
    end
    inst.worker.cursors = cursors
    return { gen = gen, built_at = now, deadline = deadline, fresh = fresh, services = services, addrs = addrs }
end

return _M
