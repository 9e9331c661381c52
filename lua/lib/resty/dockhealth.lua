-- lua-resty-dockhealth: an nginx balancer that sends traffic only to peers that dockhealth
-- sidecars report healthy.
--
--   init_by_lua_block {
--       require("resty.dockhealth").configure({
--           name = "apps", shared_dict = "dockhealth", topology = "hosts",
--           hosts = {
--               { peer = "10.0.0.11:80", sidecar = "10.0.0.11:4246" },
--               { peer = "10.0.0.12:80", sidecar = "10.0.0.12:4246" },
--           },
--       })
--   }
--   init_worker_by_lua_block { require("resty.dockhealth").init_worker() }
--   upstream dockhealth_apps {
--       server 0.0.0.1;   # never used: the balancer picks every peer
--       balancer_by_lua_block { require("resty.dockhealth").balance("apps") }
--   }
--   location ~ ^/o/([^/]+)/ {
--       access_by_lua_block { require("resty.dockhealth").access("apps", ngx.var[1]) }
--       proxy_pass http://dockhealth_apps;
--   }
--
-- Timers in every worker keep the sidecars' snapshots in a lua_shared_dict (see sync.lua) and
-- each worker's view of them (see view.lua). access() and balance() only read that view: no
-- socket, no lock, no shared-dict write on the request path.

local snapshot = require "resty.dockhealth.snapshot"
local picker = require "resty.dockhealth.picker"
local json = require "resty.dockhealth.json"
local sync = require "resty.dockhealth.sync"
local view = require "resty.dockhealth.view"
local balancer = require "ngx.balancer"
local cjson = require "cjson.safe"

local ngx = ngx
local ngx_log = ngx.log
local ngx_now = ngx.now
local ngx_exit = ngx.exit
local ERR = ngx.ERR
local WARN = ngx.WARN
local DEBUG = ngx.DEBUG
local set_current_peer = balancer.set_current_peer
local set_more_tries = balancer.set_more_tries
local type = type
local pairs = pairs
local ipairs = ipairs
local next = next
local error = error
local tostring = tostring
local tonumber = tonumber
local format = string.format
local sub = string.sub
local floor = math.floor

local _M = { _VERSION = "0.1.0" }

-- Configured instances by name. configure() usually runs in init_by_lua, in the master, and the
-- workers inherit the table; everything a worker adds to an instance stays its own.
local instances = {}

local DEFAULTS = {
    name = "default",
    sidecar = "127.0.0.1:4246",
    policy = "fail_open",
    retry_after = 5,
    stale_after = 30,
    wait = 30,
    timeout = 2,
    backoff_min = 0.1,
    backoff_max = 5,
    max_body = 16 * 1024 * 1024,
    refresh = 0.1,
    log_interval = 10,
}

local OPTIONS = {
    name = true, shared_dict = true, topology = true, hosts = true, sidecar = true, policy = true,
    retry_after = true, fallback = true, stale_after = true, wait = true, timeout = true,
    backoff_min = true, backoff_max = true, tries = true, max_body = true, refresh = true,
    log_interval = true,
}

local function config_error(fmt, ...)
    error("dockhealth.configure: " .. format(fmt, ...), 3)
end

local function number_option(opts, key, min, max)
    local v = opts[key]
    if v == nil then
        v = DEFAULTS[key]
    end
    if type(v) ~= "number" or v ~= v or v < min or v > max then
        config_error("%s: %s (expected: a number from %s to %s)", key, tostring(v), min, max)
    end
    return v
end

local function address_option(v, what)
    local host, port = snapshot.parse_address(v)
    if not host then
        config_error("%s: %s (%s)", what, tostring(v), port)
    end
    return host, port
end

local function sidecar_of(prefix, addr)
    local host, port = address_option(addr, "sidecar")
    local base = prefix .. "sidecar:" .. addr .. ":"
    return {
        addr = addr,
        host = host,
        port = port,
        keys = {
            data = base .. "data",
            version = base .. "version",
            ok_at = base .. "ok_at",
            fail_since = base .. "fail_since",
            err = base .. "err",
            err_at = base .. "err_at",
            lock = base .. "lock",
        },
    }
end

--- Configures a balancer instance; call it in init_by_lua_block (it then also runs, and fails,
-- under `nginx -t`). Raises on any bad option: a typo must not become a default. Returns the
-- instance's name.
function _M.configure(opts)
    if type(opts) ~= "table" then
        config_error("expected a table of options, got %s", type(opts))
    end
    for key in pairs(opts) do
        if not OPTIONS[key] then
            config_error("unknown option %s", tostring(key))
        end
    end
    local name = opts.name or DEFAULTS.name
    if type(name) ~= "string" or not name:find("^[%w_.-]+$") or #name > 64 then
        config_error("name: %s (expected: letters, digits, '_', '.' or '-')", tostring(name))
    end
    if instances[name] then
        config_error("an instance named %q is configured already", name)
    end
    local dict_name = opts.shared_dict
    if type(dict_name) ~= "string" then
        config_error("shared_dict: %s (expected: the name of a lua_shared_dict)", tostring(dict_name))
    end
    local dict = ngx.shared[dict_name]
    if not dict then
        config_error("shared_dict: no lua_shared_dict named %q (expected: lua_shared_dict %s 10m;)",
            dict_name, dict_name)
    end
    local topology = opts.topology
    if topology ~= "hosts" and topology ~= "local" then
        config_error("topology: %s (expected: hosts or local)", tostring(topology))
    end
    local policy = opts.policy or DEFAULTS.policy
    if policy ~= "fail_open" and policy ~= "fail_closed" then
        config_error("policy: %s (expected: fail_open or fail_closed)", tostring(policy))
    end

    local prefix = "dockhealth:" .. name .. ":"
    local inst = {
        name = name,
        dict = dict,
        dict_name = dict_name,
        topology = topology,
        fail_open = policy == "fail_open",
        policy = policy,
        retry_after = number_option(opts, "retry_after", 0, 86400),
        stale_after = number_option(opts, "stale_after", 0, 86400),
        -- The gateway cuts a longer wait to 2 minutes.
        wait = number_option(opts, "wait", 1, 120),
        timeout = number_option(opts, "timeout", 0.01, 60),
        backoff_min = number_option(opts, "backoff_min", 0.001, 60),
        backoff_max = number_option(opts, "backoff_max", 0.001, 3600),
        max_body = number_option(opts, "max_body", 1024, 1024 * 1024 * 1024),
        refresh = number_option(opts, "refresh", 0.01, 10),
        log_interval = number_option(opts, "log_interval", 0, 86400),
        keys = { gen = prefix .. "gen", worker = prefix .. "worker:" },
        sidecars = {},
    }
    if inst.backoff_max < inst.backoff_min then
        config_error("backoff_max: %s (expected: at least backoff_min, %s)", inst.backoff_max, inst.backoff_min)
    end
    if opts.tries ~= nil then
        inst.tries = number_option(opts, "tries", 1, 1000)
        if inst.tries % 1 ~= 0 then
            config_error("tries: %s (expected: a whole number)", inst.tries)
        end
    end
    if opts.fallback ~= nil then
        local host, port = address_option(opts.fallback, "fallback")
        inst.fallback = { addr = opts.fallback, host = host, port = port }
    end
    inst.wait_ms = floor(inst.wait * 1000)
    inst.timeout_ms = floor(inst.timeout * 1000)
    -- The longest one round of the poller can take: connect, send and read twice (the local
    -- topology asks for the containers after a change), the long-poll's read waiting too.
    inst.round_max = 2 * (3 * inst.timeout) + inst.wait
    -- The holder renews its poll locks from the refresh timer, a fifth of their TTL apart, also
    -- while a long-poll waits: a worker that dies loses them within lock_ttl seconds.
    inst.lock_ttl = inst.refresh * 3 > 5 and inst.refresh * 3 or 5
    inst.lock_renew = inst.lock_ttl / 5
    inst.lock_retry = 1

    local by_addr = {}
    if topology == "hosts" then
        if opts.sidecar ~= nil then
            config_error("sidecar: the hosts topology names a sidecar per host"
                .. " (hosts = { { peer = ..., sidecar = ... } })")
        end
        if type(opts.hosts) ~= "table" or #opts.hosts == 0 then
            config_error("hosts: expected a list such as { { peer = \"10.0.0.11:80\", sidecar = \"10.0.0.11:4246\" } }")
        end
        inst.hosts = {}
        local peers = {}
        for i, h in ipairs(opts.hosts) do
            local what = "hosts[" .. i .. "]"
            if type(h) ~= "table" then
                config_error("%s: expected a table { peer = ..., sidecar = ..., weight = ... }", what)
            end
            for key in pairs(h) do
                if key ~= "peer" and key ~= "sidecar" and key ~= "weight" then
                    config_error("%s: unknown option %s", what, tostring(key))
                end
            end
            local host, port = address_option(h.peer, what .. ".peer")
            if peers[h.peer] then
                config_error("%s.peer: %s is listed twice", what, h.peer)
            end
            peers[h.peer] = true
            local weight = h.weight or 1
            if type(weight) ~= "number" or weight < 1 or weight > 1000 or weight % 1 ~= 0 then
                config_error("%s.weight: %s (expected: a whole number from 1 to 1000)", what, tostring(weight))
            end
            address_option(h.sidecar, what .. ".sidecar")
            if not by_addr[h.sidecar] then
                by_addr[h.sidecar] = sidecar_of(prefix, h.sidecar)
                inst.sidecars[#inst.sidecars + 1] = by_addr[h.sidecar]
            end
            inst.hosts[i] = {
                sidecar = h.sidecar,
                peer = { addr = h.peer, host = host, port = port, weight = weight },
            }
        end
    else
        if opts.hosts ~= nil then
            config_error("hosts: the local topology takes its peers from one sidecar"
                .. " (sidecar = \"127.0.0.1:4246\")")
        end
        local sc = sidecar_of(prefix, opts.sidecar or DEFAULTS.sidecar)
        inst.sidecars[1] = sc
    end

    -- This worker's own state, filled in by init_worker.
    inst.view = nil
    inst.decoded = {}
    inst.peer_cache = {}
    inst.cursors = {}
    inst.counters = { fail_open = 0, no_peer = 0, unknown = 0, fallback = 0 }
    inst.counters_dirty = false
    inst.logged = {}
    inst.published_at = 0

    instances[name] = inst
    return name
end

--- Starts this worker's timers for every configured instance; call it in init_worker_by_lua_block.
function _M.init_worker()
    if next(instances) == nil then
        error("dockhealth.init_worker: no instance configured (expected: configure({...}) in init_by_lua_block)", 2)
    end
    local now = ngx_now()
    for _, inst in pairs(instances) do
        if not inst.started then
            inst.started = true
            inst.worker_id = ngx.worker.id() or 0
            -- After a reload the dict still holds the last snapshots: the first view uses them.
            view.build(inst, now)
            view.publish(inst, now)
            sync.start(inst)
            local ok, err = ngx.timer.every(inst.refresh, view.refresh, inst)
            if not ok then
                ngx_log(ERR, "dockhealth ", inst.name, ": cannot start the refresh timer: ", err)
            end
        end
    end
end

local function instance(name)
    local inst = instances[name or DEFAULTS.name]
    if not inst then
        error("dockhealth: no instance named " .. tostring(name or DEFAULTS.name)
            .. " (expected: the name given to configure)", 3)
    end
    return inst
end

local function note(inst, counter, service, message, ...)
    inst.counters[counter] = inst.counters[counter] + 1
    inst.counters_dirty = true
    local now = ngx_now()
    local key = counter .. " " .. service
    local last = inst.logged[key]
    if not last or now - last >= inst.log_interval then
        inst.logged[key] = now
        ngx_log(WARN, "dockhealth ", inst.name, ": ", format(message, ...), " (logged at most once per ",
            inst.log_interval, " s per service)")
    end
end

-- The cursor to pick from for service, and how it was chosen: "eligible", "fail_open",
-- "unknown" (no sidecar knows the name) or "no_peer" (nothing eligible and fail_closed, or
-- nothing known at all).
local function choose(inst, service)
    local current = inst.view
    local e = current and type(service) == "string" and current.services[service]
    if not e then
        return nil, "unknown"
    end
    if e.eligible.n > 0 then
        return e.eligible, "eligible"
    end
    if inst.fail_open and e.known.n > 0 then
        note(inst, "fail_open", service, "no peer of %q is healthy; failing open to all %d known peers",
            service, e.known.n)
        return e.known, "fail_open"
    end
    note(inst, "no_peer", service, "no peer of %q is healthy (%s): refusing", service,
        inst.fail_open and "and none is known" or "fail_closed")
    return nil, "no_peer"
end

local function shown(service)
    service = tostring(service)
    if #service > 100 then
        service = sub(service, 1, 100) .. "..."
    end
    return (service:gsub("[%c\"\\]", "?"))
end

local function refuse(status, body)
    ngx.status = status
    ngx.header["Content-Type"] = "text/plain; charset=utf-8"
    ngx.header["Cache-Control"] = "no-store"
    ngx.print(body)
    return ngx_exit(ngx.HTTP_OK)
end

--- The access-phase helper: decides the request's peers for balance(), or answers it.
--   - some peer of service is eligible: round-robin over those;
--   - none is (every one unhealthy, or its sidecar silent past stale_after): fail_open uses every
--     known peer, fail_closed answers 503 with Retry-After;
--   - no sidecar knows service: the fallback upstream if configured, else 503.
-- service defaults to the location's first capture (ngx.var[1]).
function _M.access(name, service)
    local inst = instance(name)
    if service == nil then
        service = ngx.var[1]
    end
    local chosen, how = choose(inst, service)
    if chosen then
        ngx.ctx.dockhealth = { inst = inst, cursor = chosen, tried = {} }
        return
    end
    if how == "unknown" then
        if inst.fallback then
            inst.counters.fallback = inst.counters.fallback + 1
            inst.counters_dirty = true
            ngx.ctx.dockhealth = { inst = inst, fallback = true }
            return
        end
        inst.counters.unknown = inst.counters.unknown + 1
        inst.counters_dirty = true
        return refuse(503, "dockhealth: unknown service \"" .. shown(service) .. "\"\n")
    end
    ngx.header["Retry-After"] = tostring(inst.retry_after)
    return refuse(503, "dockhealth: no healthy peer for \"" .. shown(service) .. "\"; retry later\n")
end

local function fail(inst, message, ...)
    ngx_log(ERR, "dockhealth ", inst.name, ": ", format(message, ...))
    return ngx_exit(ngx.ERROR)
end

--- The balancer: call it in balancer_by_lua_block. Picks the next peer round-robin (weighted
-- when weights differ) from what access() chose; on a retry (proxy_next_upstream), the next one
-- this request has not tried yet. Without access(), pass the service: the request is then
-- refused with nginx's 500, as balancer_by_lua can send no body or header of its own.
function _M.balance(name, service)
    local inst = instance(name)
    local ctx = ngx.ctx
    local req = ctx.dockhealth
    if not req or req.inst ~= inst then
        local chosen, how = choose(inst, service)
        if chosen then
            req = { inst = inst, cursor = chosen, tried = {} }
        elseif how == "unknown" and inst.fallback then
            req = { inst = inst, fallback = true }
        else
            return fail(inst, "refusing a request for %q: %s", shown(service), how)
        end
        ctx.dockhealth = req
    end
    local ok, err
    if req.fallback then
        ok, err = set_current_peer(inst.fallback.host, inst.fallback.port)
        if not ok then
            return fail(inst, "cannot set the fallback peer %s: %s", inst.fallback.addr, tostring(err))
        end
        return
    end
    local tried = req.tried
    local first = next(tried) == nil
    local peer = picker.pick(req.cursor, tried)
    if not peer then
        -- More tries than peers: set_more_tries below prevents it.
        return fail(inst, "every peer has been tried")
    end
    tried[peer.addr] = true
    if first then
        local more = req.cursor.n - 1
        if inst.tries and more > inst.tries - 1 then
            more = inst.tries - 1
        end
        if more > 0 then
            ok, err = set_more_tries(more)
            if not ok then
                ngx_log(ERR, "dockhealth ", inst.name, ": cannot set more tries: ", err)
            elseif err then
                -- "reduced tries due to limit": proxy_next_upstream_tries is lower.
                ngx_log(DEBUG, "dockhealth ", inst.name, ": ", err)
            end
        end
    end
    ok, err = set_current_peer(peer.host, peer.port)
    if not ok then
        return fail(inst, "cannot set the peer %s: %s", peer.addr, tostring(err))
    end
end

local function age(now, t)
    if not t then
        return nil
    end
    return floor((now - t) * 1000 + 0.5) / 1000
end

local function describe(inst, now)
    local dict = inst.dict
    local sidecars = {}
    for _, sc in ipairs(inst.sidecars) do
        local keys = sc.keys
        local fail_since = dict:get(keys.fail_since)
        local ok_at = dict:get(keys.ok_at)
        local stale = not dict:get(keys.data)
            or (fail_since and now - fail_since >= inst.stale_after)
            or (ok_at and now - ok_at >= inst.stale_after + inst.round_max)
        sidecars[sc.addr] = {
            version = dict:get(keys.version),
            answered_ago = age(now, ok_at),
            failing_for = age(now, fail_since),
            stale = stale and true or false,
            last_error = dict:get(keys.err),
            last_error_ago = age(now, dict:get(keys.err_at)),
            polled_by_pid = tonumber(dict:get(keys.lock)),
        }
    end
    local workers = {}
    for id = 0, ngx.worker.count() - 1 do
        local raw = dict:get(inst.keys.worker .. id)
        local doc = raw and cjson.decode(raw)
        if type(doc) == "table" then
            workers[tostring(id)] = { view_age = age(now, doc.built_at), view = json.raw(raw) }
        end
    end
    return {
        topology = inst.topology,
        policy = inst.policy,
        stale_after = inst.stale_after,
        fallback = inst.fallback and inst.fallback.addr,
        generation = dict:get(inst.keys.gen) or 0,
        sidecars = sidecars,
        workers = workers,
    }
end

--- A content handler showing what each worker sees, as JSON: per instance its sidecars (version,
-- seconds since their last answer, failure, staleness, which worker polls them) and per worker
-- its view (peers eligible and known per service, generation, age, counters). name limits it to
-- one instance.
function _M.status(name)
    local now = ngx_now()
    local out = {}
    for iname, inst in pairs(instances) do
        if name == nil or name == iname then
            out[iname] = describe(inst, now)
        end
    end
    ngx.header["Content-Type"] = "application/json"
    ngx.header["Cache-Control"] = "no-store"
    ngx.say(json.encode({ version = _M._VERSION, pid = ngx.worker.pid(), instances = out }))
end

return _M
