-- A balancer instance: what configure() was given, checked (fixed once nginx starts, shared by
-- every worker through the fork), and, in each worker, that worker's own state (self.worker): its
-- view, cursors, counters, pollers and passive checks, made by start_worker().
--
--   local inst = instance.new(opts, taken)   -- init_by_lua: raises on a bad option
--   inst:start_worker()                      -- init_worker_by_lua: pollers and refresh timer
--   local cursor, how = inst:choose("web")   -- request path: reads the view only

local config = require "resty.dockhealth.config"
local sidecar = require "resty.dockhealth.sidecar"
local poller = require "resty.dockhealth.poller"
local passive = require "resty.dockhealth.passive"
local view = require "resty.dockhealth.view"
local json = require "resty.dockhealth.json"
local shm = require "resty.dockhealth.shm"
local cjson = require "cjson.safe"

local ngx = ngx
local ngx_log = ngx.log
local ngx_now = ngx.now
local ERR = ngx.ERR
local WARN = ngx.WARN
local type = type
local pairs = pairs
local ipairs = ipairs
local pcall = pcall
local setmetatable = setmetatable
local tostring = tostring
local tonumber = tonumber
local format = string.format
local floor = math.floor

local _M = { _VERSION = "0.1.0" }

-- How often a worker republishes its summary when only its counters changed, and at the least.
local PUBLISH_MIN_INTERVAL = 1
local PUBLISH_MAX_INTERVAL = 10
-- A summary not republished for this long is dropped (a worker that went away).
local SUMMARY_TTL = 60

local Instance = {}
local mt = { __index = Instance }

--- A new instance from configure()'s options; raises on any bad one.
-- @tparam table opts the options
-- @tparam table taken the instances configured already, by name
function _M.new(opts, taken)
    local self = setmetatable(config.parse(opts, taken), mt)
    self.keys = { gen = self.prefix .. "gen", worker = self.prefix .. "worker:" }
    self.sidecars = {}
    local by_spec = {}
    for _, host in ipairs(self.hosts) do
        local sc = by_spec[host.sidecar]
        if not sc then
            sc = sidecar.new(self, host.sidecar, host.peer_host, host.tls)
            by_spec[host.sidecar] = sc
            self.sidecars[#self.sidecars + 1] = sc
        end
        host.sidecar = sc
    end
    self.worker = nil
    return self
end

--- Logs a line that names the instance.
function Instance:log(level, ...)
    ngx_log(level, "dockhealth ", self.name, ": ", ...)
end

-- The refresh timer's body: the view, the passive checks' shared state, the summary, the locks.
function Instance:tick()
    local now = ngx_now()
    self:update(now)
    for _, p in ipairs(self.worker.pollers) do
        p:keep(now)
    end
end

local function on_timer(premature, self)
    if premature then
        return
    end
    local ok, err = pcall(self.tick, self)
    if not ok then
        self:log(ERR, "refreshing this worker's view failed: ", err)
    end
end

--- Starts this worker's side (from init_worker): its view of what the dict holds already (after a
-- reload, the last snapshots), its pollers, and the refresh timer, which never dies.
function Instance:start_worker()
    self.worker = {
        id = ngx.worker.id() or 0,
        view = nil,
        decoded = {},
        peer_cache = {},
        cursors = {},
        counters = { fail_open = 0, no_peer = 0, unknown = 0, fallback = 0 },
        counters_dirty = false,
        logged = {},
        published_at = 0,
        pollers = {},
        passive = passive.new(self),
    }
    self:update(ngx_now())
    for i, sc in ipairs(self.sidecars) do
        local p = poller.new(self, sc)
        self.worker.pollers[i] = p
        p:start()
    end
    local ok, err = ngx.timer.every(self.refresh, on_timer, self)
    if not ok then
        self:log(ERR, "cannot start the refresh timer: ", err)
    end
end

--- Brings this worker's view up to date: rebuilt when the dict's generation moved, its sidecars'
-- trust checked again when the first of them runs out; then the passive checks and the summary.
function Instance:update(now)
    local w = self.worker
    local current = w.view
    local gen = self.dict:get(self.keys.gen) or 0
    local changed = false
    if not current or gen ~= current.gen then
        changed = true
    elseif now >= current.deadline then
        local fresh, deadline = view.trust(self, now)
        for addr, is_fresh in pairs(fresh) do
            if current.fresh[addr] ~= is_fresh then
                changed = true
            end
        end
        current.deadline = deadline
    end
    if changed then
        w.view = view.build(self, gen, now)
    end
    local reloaded = w.passive:sync(w.view.addrs, changed)
    if changed or reloaded or (w.counters_dirty and now - w.published_at >= PUBLISH_MIN_INTERVAL)
        or now - w.published_at >= PUBLISH_MAX_INTERVAL then
        self:publish(now)
    end
end

local function addrs(c)
    local out = json.array()
    for i, p in ipairs(c.peers) do
        out[i] = p.name and (p.addr .. " " .. p.name) or p.addr
    end
    return out
end

--- Writes this worker's view summary, skipped peers and counters to the dict, for status().
function Instance:publish(now)
    local w = self.worker
    local services = {}
    for name, e in pairs(w.view.services) do
        services[name] = { eligible = addrs(e.eligible), known = addrs(e.known) }
    end
    local summary = json.encode({
        pid = ngx.worker.pid(),
        gen = w.view.gen,
        built_at = w.view.built_at,
        sidecars_fresh = w.view.fresh,
        services = services,
        skipped = w.passive:skipped(now),
        counters = w.counters,
    })
    shm.set(self.dict, self.keys.worker .. w.id, summary, SUMMARY_TTL)
    w.published_at = now
    w.counters_dirty = false
end

--- Counts a request under counter ("fail_open", "no_peer", "unknown", "fallback") and, for the
-- first two, logs message at most once per log_interval per service.
function Instance:note(counter, service, message, ...)
    local w = self.worker
    w.counters[counter] = w.counters[counter] + 1
    w.counters_dirty = true
    if not message then
        return
    end
    local now = ngx_now()
    local key = counter .. " " .. service
    local last = w.logged[key]
    if not last or now - last >= self.log_interval then
        w.logged[key] = now
        self:log(WARN, format(message, ...), " (logged at most once per ", self.log_interval, " s per service)")
    end
end

--- The cursor to pick from for service, and how it was chosen: "eligible", "fail_open",
-- "unknown" (no sidecar knows the name) or "no_peer" (nothing eligible and fail_closed, or
-- nothing known at all).
function Instance:choose(service)
    local current = self.worker.view
    local e = current and type(service) == "string" and current.services[service]
    if not e then
        return nil, "unknown"
    end
    if e.eligible.n > 0 then
        return e.eligible, "eligible"
    end
    if self.fail_open and e.known.n > 0 then
        self:note("fail_open", service, "no peer of %q is healthy; failing open to all %d known peers",
            service, e.known.n)
        return e.known, "fail_open"
    end
    self:note("no_peer", service, "no peer of %q is healthy (%s): refusing", service,
        self.fail_open and "and none is known" or "fail_closed")
    return nil, "no_peer"
end

local function age(now, t)
    if not t then
        return nil
    end
    return floor((now - t) * 1000 + 0.5) / 1000
end

--- What status() shows of the instance at now: its sidecars (transport, version, last answer,
-- failure, staleness, poller), the peers the passive checks skip, and each worker's published summary.
function Instance:describe(now)
    local dict = self.dict
    local sidecars = {}
    for _, sc in ipairs(self.sidecars) do
        local keys = sc.keys
        local endpoint = sc.endpoint
        sidecars[sc.addr] = {
            transport = endpoint.unix and "unix" or endpoint.tls and "tls" or "tcp",
            peer_host = sc.peer_host,
            version = dict:get(keys.version),
            answered_ago = age(now, dict:get(keys.heard_at)),
            failing_for = age(now, dict:get(keys.fail_since)),
            stale = sc:is_stale(now),
            last_error = dict:get(keys.err),
            last_error_ago = age(now, dict:get(keys.err_at)),
            polled_by_pid = tonumber(dict:get(keys.lock)),
        }
    end
    local workers = {}
    for id = 0, ngx.worker.count() - 1 do
        local raw = dict:get(self.keys.worker .. id)
        local doc = raw and cjson.decode(raw)
        if type(doc) == "table" then
            workers[tostring(id)] = { view_age = age(now, doc.built_at), view = json.raw(raw) }
        end
    end
    return {
        topology = self.topology,
        policy = self.policy,
        stale_after = self.stale_after,
        max_fails = self.max_fails,
        fail_timeout = self.fail_timeout,
        fallback = self.fallback and self.fallback.addr,
        generation = dict:get(self.keys.gen) or 0,
        sidecars = sidecars,
        workers = workers,
    }
end

return _M
