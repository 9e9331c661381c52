-- A worker's view: for every service name, the peers eligible now and every peer known, built
-- from the snapshots in the shared dict. A refresh timer rebuilds it when the instance's
-- generation counter moves or when a failing sidecar's snapshot reaches stale_after; the request
-- path only reads inst.view. Each worker also publishes a summary of its view to the dict, for
-- the status handler.

local snapshot = require "resty.dockhealth.snapshot"
local picker = require "resty.dockhealth.picker"
local json = require "resty.dockhealth.json"
local shm = require "resty.dockhealth.shm"
local sync = require "resty.dockhealth.sync"

local ngx = ngx
local ngx_log = ngx.log
local ngx_now = ngx.now
local ERR = ngx.ERR
local pairs = pairs
local ipairs = ipairs
local pcall = pcall
local concat = table.concat
local huge = math.huge

local _M = { _VERSION = "0.1.0" }

-- How often a worker republishes its summary when only its counters changed, and at the least.
local PUBLISH_MIN_INTERVAL = 1
local PUBLISH_MAX_INTERVAL = 10
-- A summary not republished for this long is dropped (a worker that went away).
local SUMMARY_TTL = 60

-- A peer of the local topology. Peers are cached by address and container name from one build
-- to the next, so that a rebuild reuses the tables it made before and a bad address is logged
-- once, not on every rebuild.
local function local_peer(inst, cache, addr, container)
    local key = addr .. " " .. container
    local peer = cache[key]
    if peer == nil then
        peer = inst.peer_cache[key]
    end
    if peer == nil then
        local host, port_or_err = snapshot.parse_address(addr)
        if host then
            peer = { addr = addr, host = host, port = port_or_err, weight = 1, name = container }
        else
            ngx_log(ERR, "dockhealth ", inst.name, ": container ", container, " has an upstream the",
                " balancer cannot use: ", addr, " (", port_or_err, ")")
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
    return picker.cursor(list, inst.worker_id), signature
end

local function add(services, name)
    local e = services[name]
    if not e then
        e = { eligible = {}, known = {} }
        services[name] = e
    end
    return e
end

--- Rebuilds inst.view from the dict.
function _M.build(inst, now)
    local dict = inst.dict
    local gen = dict:get(inst.keys.gen) or 0
    local deadline = huge
    local states = {}
    for _, sc in ipairs(inst.sidecars) do
        local keys = sc.keys
        local data = dict:get(keys.data)
        local doc
        if data then
            local cached = inst.decoded[sc.addr]
            if cached and cached.data == data then
                doc = cached.doc
            else
                local err
                doc, err = snapshot.decode(data)
                if doc then
                    inst.decoded[sc.addr] = { data = data, doc = doc }
                else
                    ngx_log(ERR, "dockhealth ", inst.name, ": sidecar ", sc.addr, ": ", err)
                end
            end
        end
        local fresh = doc ~= nil
        -- Trusted until stale_after past the first failure, and, should no worker poll at all,
        -- until stale_after past the longest a round can take since the last answer.
        local fail_since = dict:get(keys.fail_since)
        local ok_at = dict:get(keys.ok_at)
        for _, limit in ipairs({
            fail_since and fail_since + inst.stale_after or huge,
            ok_at and ok_at + inst.stale_after + inst.round_max or huge,
        }) do
            if now >= limit then
                fresh = false
            elseif limit < deadline then
                deadline = limit
            end
        end
        states[sc.addr] = { doc = doc, fresh = fresh }
    end

    local services = {}
    local peer_cache = {}
    if inst.topology == "hosts" then
        for _, host in ipairs(inst.hosts) do
            local state = states[host.sidecar]
            if state.doc then
                for _, pair in ipairs(state.doc.services) do
                    local e = add(services, pair[1])
                    e.known[#e.known + 1] = host.peer
                    if state.fresh and pair[2] == "SERVING" then
                        e.eligible[#e.eligible + 1] = host.peer
                    end
                end
            end
        end
    else
        local state = states[inst.sidecars[1].addr]
        if state.doc then
            for _, pair in ipairs(state.doc.services) do
                local e = add(services, pair[1])
                for _, m in ipairs(pair[2]) do
                    local peer = local_peer(inst, peer_cache, m[1], m[3])
                    if peer then
                        e.known[#e.known + 1] = peer
                        if state.fresh and m[2] == "SERVING" then
                            e.eligible[#e.eligible + 1] = peer
                        end
                    end
                end
            end
        end
    end

    local old = inst.cursors
    local cursors = {}
    for _, e in pairs(services) do
        local signature
        e.eligible, signature = cursor(inst, old, e.eligible)
        cursors[signature] = e.eligible
        e.known, signature = cursor(inst, old, e.known)
        cursors[signature] = e.known
    end
    inst.cursors = cursors
    inst.peer_cache = peer_cache

    local fresh = {}
    for addr, state in pairs(states) do
        fresh[addr] = state.fresh
    end
    inst.view = { gen = gen, built_at = now, deadline = deadline, services = services, fresh = fresh }
end

local function addrs(c)
    local out = json.array()
    for i, p in ipairs(c.peers) do
        out[i] = p.name and (p.addr .. " " .. p.name) or p.addr
    end
    return out
end

--- Writes this worker's view summary and counters to the dict.
function _M.publish(inst, now)
    local view = inst.view
    local services = {}
    for name, e in pairs(view.services) do
        services[name] = { eligible = addrs(e.eligible), known = addrs(e.known) }
    end
    local summary = json.encode({
        pid = ngx.worker.pid(),
        gen = view.gen,
        built_at = view.built_at,
        sidecars_fresh = view.fresh,
        services = services,
        counters = inst.counters,
    })
    shm.set(inst.dict, inst.keys.worker .. inst.worker_id, summary, SUMMARY_TTL)
    inst.published_at = now
    inst.counters_dirty = false
end

local function tick(inst)
    local now = ngx_now()
    local view = inst.view
    local gen = inst.dict:get(inst.keys.gen) or 0
    if not view or gen ~= view.gen or now >= view.deadline then
        _M.build(inst, now)
        _M.publish(inst, now)
    elseif (inst.counters_dirty and now - inst.published_at >= PUBLISH_MIN_INTERVAL)
        or now - inst.published_at >= PUBLISH_MAX_INTERVAL then
        _M.publish(inst, now)
    end
    sync.tick(inst, now)
end

--- The refresh timer's handler (ngx.timer.every): never raises, so the timer never dies.
function _M.refresh(premature, inst)
    if premature then
        return
    end
    local ok, err = pcall(tick, inst)
    if not ok then
        ngx_log(ERR, "dockhealth ", inst.name, ": refreshing this worker's view failed: ", err)
    end
end

return _M
