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
--       log_by_lua_block { require("resty.dockhealth").log("apps") }   # optional
--   }
--
-- Each instance (instance.lua) keeps, in every worker, a view of its sidecars' snapshots, which
-- timers keep in a lua_shared_dict (poller.lua, view.lua). access() and balance() only read that
-- view: no socket, no lock; the shared dict is written only when a peer fails (passive.lua).

local instance = require "resty.dockhealth.instance"
local picker = require "resty.dockhealth.picker"
local json = require "resty.dockhealth.json"
local balancer = require "ngx.balancer"

local ngx = ngx
local ngx_now = ngx.now
local ngx_exit = ngx.exit
local ERR = ngx.ERR
local DEBUG = ngx.DEBUG
local set_current_peer = balancer.set_current_peer
local set_more_tries = balancer.set_more_tries
local get_last_failure = balancer.get_last_failure
local pairs = pairs
local next = next
local error = error
local tostring = tostring
local format = string.format
local sub = string.sub

local _M = { _VERSION = "0.1.0" }

-- Configured instances by name. configure() usually runs in init_by_lua, in the master, and the
-- workers inherit the table; what a worker adds to an instance (its `worker` state) stays its own.
local instances = {}

--- Configures a balancer instance; call it in init_by_lua_block. Raises on any bad or unknown
-- option, naming it, so that nginx does not start (or a reload keeps the old configuration).
-- `nginx -t` does not run init_by_lua: it cannot catch these.
-- @tparam table opts the options (README: "nginx / OpenResty: the Lua balancer")
-- @treturn string the instance's name
function _M.configure(opts)
    local inst = instance.new(opts, instances)
    instances[inst.name] = inst
    return inst.name
end

--- Starts this worker's timers for every configured instance; call it in init_worker_by_lua_block.
function _M.init_worker()
    if next(instances) == nil then
        error("dockhealth.init_worker: no instance configured (expected: configure({...}) in init_by_lua_block)", 2)
    end
    for _, inst in pairs(instances) do
        if not inst.worker then
            inst:start_worker()
        end
    end
end

local function get(name)
    local inst = instances[name or "default"]
    if not inst then
        error("dockhealth: no instance named " .. tostring(name or "default")
            .. " (expected: the name given to configure)", 3)
    end
    return inst
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
--   - none is (every one unhealthy, or its sidecar stale): fail_open uses every known peer,
--     fail_closed answers 503 with Retry-After;
--   - no sidecar knows service: the fallback upstream if configured, else 503.
-- @tparam string name the instance
-- @tparam[opt] string service defaults to the location's first capture (ngx.var[1])
function _M.access(name, service)
    local inst = get(name)
    if service == nil then
        service = ngx.var[1]
    end
    local chosen, how = inst:choose(service)
    if chosen then
        ngx.ctx.dockhealth = { inst = inst, cursor = chosen }
        return
    end
    if how == "unknown" then
        if inst.fallback then
            inst:note("fallback")
            ngx.ctx.dockhealth = { inst = inst, fallback = true }
            return
        end
        inst:note("unknown")
        return refuse(503, "dockhealth: unknown service \"" .. shown(service) .. "\"\n")
    end
    ngx.header["Retry-After"] = tostring(inst.retry_after)
    return refuse(503, "dockhealth: no healthy peer for \"" .. shown(service) .. "\"; retry later\n")
end

local function fail(inst, message, ...)
    inst:log(ERR, format(message, ...))
    return ngx_exit(ngx.ERROR)
end

-- The first try: the next peer round-robin, skipping those the passive checks skip, and one more
-- try per other peer (bounded by tries and proxy_next_upstream_tries).
local function first(inst, req)
    local down = inst.worker.passive.down
    local peer, index = picker.pick(req.cursor, down, next(down) and ngx_now() or 0)
    if not peer then
        return nil
    end
    req.index = index
    local more = req.cursor.n - 1
    if inst.tries and more > inst.tries - 1 then
        more = inst.tries - 1
    end
    if more > 0 then
        local ok, err = set_more_tries(more)
        if not ok then
            inst:log(ERR, "cannot set more tries: ", err)
        elseif err then
            -- "reduced tries due to limit": proxy_next_upstream_tries is lower.
            inst:log(DEBUG, err)
        end
    end
    return peer
end

--- The balancer: call it in balancer_by_lua_block. Picks the next peer round-robin (weighted when
-- weights differ) from what access() chose; on a retry (proxy_next_upstream), the next one this
-- request has not tried, without moving the rotation, after counting the failed try for the
-- passive checks. Without access(), pass the service: the request is then refused with nginx's
-- 500, as balancer_by_lua can send no body or header of its own.
-- @tparam string name the instance
-- @tparam[opt] string service when access() was not used
function _M.balance(name, service)
    local inst = get(name)
    local ctx = ngx.ctx
    local req = ctx.dockhealth
    if not req or req.inst ~= inst then
        local chosen, how = inst:choose(service)
        if chosen then
            req = { inst = inst, cursor = chosen }
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
    local peer
    local last = req.peer
    if not last then
        peer = first(inst, req)
    else
        local passive, now = inst.worker.passive, ngx_now()
        -- "failed" is an error, a timeout or a status proxy_next_upstream retries; "next" (http_403,
        -- http_404) is not a failure for nginx's max_fails either.
        if get_last_failure() == "failed" then
            passive:failed(last, now)
        end
        local tried = req.tried
        if not tried then
            tried = { [last.addr] = true }
            req.tried = tried
        end
        peer = picker.retry(req.cursor, req.index, tried, passive.down, now)
        if peer then
            tried[peer.addr] = true
        end
    end
    if not peer then
        -- More tries than peers: set_more_tries prevents it.
        return fail(inst, "every peer has been tried")
    end
    req.peer = peer
    ok, err = set_current_peer(peer.host, peer.port)
    if not ok then
        return fail(inst, "cannot set the peer %s: %s", peer.addr, tostring(err))
    end
end

-- The last element of an $upstream_* variable ("a, b : c"), or nil.
local function last_of(value)
    return value and value:match("([^%s,:]+)%s*$")
end

--- The log-phase helper (optional): call it in log_by_lua_block where balance() routes. Counts the
-- request's last try as a failure for the passive checks when nginx got nothing from the peer (an
-- error or a timeout: nginx's own 502 or 504); balance() counts every earlier try itself.
-- @tparam string name the instance
function _M.log(name)
    local inst = get(name)
    -- Nothing to count unless nginx answered 502 or 504: the common case costs one call.
    local status = ngx.status
    if status ~= 502 and status ~= 504 then
        return
    end
    local req = ngx.ctx.dockhealth
    if not req or req.inst ~= inst or not req.peer then
        return
    end
    local var = ngx.var
    local last = last_of(var.upstream_status)
    if (last == "502" or last == "504") and last_of(var.upstream_bytes_received) == "0" then
        inst.worker.passive:failed(req.peer, ngx_now())
    end
end

--- A content handler showing what each worker sees, as JSON: per instance its sidecars (transport,
-- version, seconds since their last answer, failure, staleness, which worker polls them) and per worker its
-- view (peers eligible and known per service, peers the passive checks skip, generation, age,
-- counters).
-- @tparam[opt] string name only this instance
function _M.status(name)
    local now = ngx_now()
    local out = {}
    for iname, inst in pairs(instances) do
        if name == nil or name == iname then
            out[iname] = inst:describe(now)
        end
    end
    ngx.header["Content-Type"] = "application/json"
    ngx.header["Cache-Control"] = "no-store"
    ngx.say(json.encode({ version = _M._VERSION, pid = ngx.worker.pid(), instances = out }))
end

return _M
