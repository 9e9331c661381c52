-- The options of configure(), checked: a typo or a bad value raises, naming the option and what
-- is expected, so that nginx does not start with it (or a reload keeps the old configuration).

local address = require "resty.dockhealth.address"
local sidecar = require "resty.dockhealth.sidecar"
local tls = require "resty.dockhealth.tls"

local ngx = ngx
local type = type
local pairs = pairs
local ipairs = ipairs
local error = error
local tostring = tostring
local format = string.format
local floor = math.floor

local _M = { _VERSION = "0.1.0" }

local DEFAULTS = {
    name = "default",
    sidecar = "127.0.0.1:4246",
    policy = "fail_open",
    retry_after = 5,
    stale_after = 30,
    wait = 20,
    timeout = 2,
    backoff_min = 0.1,
    backoff_max = 5,
    max_body = 16 * 1024 * 1024,
    refresh = 0.1,
    log_interval = 10,
    max_fails = 1,
    fail_timeout = 10,
}
_M.DEFAULTS = DEFAULTS

local OPTIONS = {
    name = true, shared_dict = true, topology = true, hosts = true, sidecar = true, policy = true,
    retry_after = true, fallback = true, stale_after = true, wait = true, timeout = true,
    backoff_min = true, backoff_max = true, tries = true, max_body = true, refresh = true,
    log_interval = true, max_fails = true, fail_timeout = true, tls = true,
}

-- The keys each topology's hosts entries take.
local HOST_KEYS = {
    hosts = { peer = true, sidecar = true, weight = true, tls = true },
    cluster = { address = true, sidecar = true, tls = true },
}

local function fail(fmt, ...)
    -- Level 0: the message alone, as nginx shows it after "init_by_lua error: ".
    error("dockhealth.configure: " .. format(fmt, ...), 0)
end

local function number(opts, key, min, max, whole)
    local v = opts[key]
    if v == nil then
        v = DEFAULTS[key]
    end
    if type(v) ~= "number" or v ~= v or v < min or v > max then
        fail("%s: %s (expected: a number from %s to %s)", key, tostring(v), min, max)
    end
    if whole and v % 1 ~= 0 then
        fail("%s: %s (expected: a whole number)", key, v)
    end
    return v
end

local function peer_address(v, what)
    local host, port = address.parse(v)
    if not host then
        fail("%s: %s (%s)", what, tostring(v), port)
    end
    return host, port
end

local function checked(ok, err)
    if not ok then
        fail("%s", err)
    end
    return ok
end

-- A sidecar's address (unix sockets in ngx_lua's form) and its TLS settings: the instance's tls
-- (ctx.tls) for a TCP sidecar, or host_tls over it. Unix sockets are plaintext, as the sidecar
-- serves them (their file mode decides who connects): the instance's tls skips them, and a host's
-- tls on one is refused.
local function sidecar_of(ctx, v, what, host_tls, tls_what)
    local endpoint, err = sidecar.endpoint(v)
    if not endpoint then
        fail("%s: %s (%s)", what, tostring(v), err)
    end
    if host_tls ~= nil then
        checked(tls.check(host_tls, tls_what))
    end
    if endpoint.unix then
        if host_tls then
            fail("%s: %s is a unix socket, which dockhealth serves without TLS (its file mode decides who"
                .. " connects; expected: no tls)", tls_what, endpoint.addr)
        end
        return endpoint.addr
    end
    local merged = tls.merge(ctx.tls, host_tls)
    if not merged then
        return endpoint.addr
    end
    ctx.tls_used = true
    return endpoint.addr, checked(tls.settings(merged, host_tls and tls_what or "tls", ctx.identities))
end

local function entries(opts, topology)
    local example = topology == "hosts"
        and "{ { peer = \"10.0.0.11:80\", sidecar = \"10.0.0.11:4246\" } }"
        or "{ { address = \"10.0.0.11\", sidecar = \"10.0.0.11:4246\" } }"
    if opts.sidecar ~= nil then
        fail("sidecar: the %s topology names a sidecar per host (hosts = %s)", topology, example)
    end
    if type(opts.hosts) ~= "table" or #opts.hosts == 0 then
        fail("hosts: expected a list such as %s", example)
    end
    local keys = HOST_KEYS[topology]
    for i, h in ipairs(opts.hosts) do
        local what = "hosts[" .. i .. "]"
        if type(h) ~= "table" then
            fail("%s: expected a table such as %s", what, example:sub(3, -3))
        end
        for key in pairs(h) do
            if not keys[key] then
                fail("%s: unknown option %s (the %s topology)", what, tostring(key), topology)
            end
        end
    end
    return opts.hosts
end

-- hosts: one peer per host, eligible by the host's sidecar. Fills c.hosts.
local function hosts_topology(c, opts, ctx)
    local peers = {}
    -- The TLS settings of each sidecar, which hosts sharing it must agree on.
    local tls_ids = {}
    for i, h in ipairs(entries(opts, "hosts")) do
        local what = "hosts[" .. i .. "]"
        local host, port = peer_address(h.peer, what .. ".peer")
        if peers[h.peer] then
            fail("%s.peer: %s is listed twice", what, h.peer)
        end
        peers[h.peer] = true
        local weight = h.weight or 1
        if type(weight) ~= "number" or weight < 1 or weight > 1000 or weight % 1 ~= 0 then
            fail("%s.weight: %s (expected: a whole number from 1 to 1000)", what, tostring(weight))
        end
        local spec, settings = sidecar_of(ctx, h.sidecar, what .. ".sidecar", h.tls, what .. ".tls")
        local id = settings and settings.id or "plaintext"
        if tls_ids[spec] and tls_ids[spec] ~= id then
            fail("%s.tls: other TLS settings than an earlier host's for the same sidecar %s", what, spec)
        end
        tls_ids[spec] = id
        c.hosts[i] = {
            sidecar = spec,
            tls = settings,
            peer = { addr = h.peer, host = host, port = port, weight = weight },
        }
    end
end

-- cluster: every container of every host, each host reached at its address.
local function cluster_topology(c, opts, ctx)
    local seen = {}
    for i, h in ipairs(entries(opts, "cluster")) do
        local what = "hosts[" .. i .. "]"
        local spec, settings = sidecar_of(ctx, h.sidecar, what .. ".sidecar", h.tls, what .. ".tls")
        if seen[spec] then
            fail("%s.sidecar: %s is listed twice", what, spec)
        end
        seen[spec] = true
        local host, err = address.parse_ip(h.address)
        if not host then
            fail("%s.address: %s (%s: where this host's published ports are reached)", what, tostring(h.address), err)
        end
        c.hosts[i] = { sidecar = spec, tls = settings, peer_host = host }
    end
end

local function local_topology(c, opts, ctx)
    if opts.hosts ~= nil then
        fail("hosts: the local topology takes its peers from one sidecar (sidecar = \"127.0.0.1:4246\")")
    end
    local spec, settings = sidecar_of(ctx, opts.sidecar or DEFAULTS.sidecar, "sidecar")
    c.hosts[1] = { sidecar = spec, tls = settings }
end

local TOPOLOGIES = { hosts = hosts_topology, cluster = cluster_topology, ["local"] = local_topology }

--- Checks opts and returns the instance's fixed configuration: every option with its default
-- applied, plus what follows from them (the dict, key prefix, timings in ms, lock timings) and
-- hosts, a list of { sidecar = spec, tls = settings or nil, peer = peer (hosts), peer_host = ip
-- (cluster) }. Reads the client certificates of tls. Raises on anything wrong.
-- @tparam table opts the options of configure()
-- @tparam table taken the names of the instances configured already
function _M.parse(opts, taken)
    if type(opts) ~= "table" then
        fail("expected a table of options, got %s", type(opts))
    end
    for key in pairs(opts) do
        if not OPTIONS[key] then
            fail("unknown option %s", tostring(key))
        end
    end
    local name = opts.name or DEFAULTS.name
    if type(name) ~= "string" or not name:find("^[%w_.-]+$") or #name > 64 then
        fail("name: %s (expected: letters, digits, '_', '.' or '-')", tostring(name))
    end
    if taken[name] then
        fail("an instance named %q is configured already", name)
    end
    local dict_name = opts.shared_dict
    if type(dict_name) ~= "string" then
        fail("shared_dict: %s (expected: the name of a lua_shared_dict)", tostring(dict_name))
    end
    local dict = ngx.shared[dict_name]
    if not dict then
        fail("shared_dict: no lua_shared_dict named %q (expected: lua_shared_dict %s 10m;)", dict_name, dict_name)
    end
    local topology = opts.topology
    if not TOPOLOGIES[topology] then
        fail("topology: %s (expected: hosts, cluster or local)", tostring(topology))
    end
    local policy = opts.policy or DEFAULTS.policy
    if policy ~= "fail_open" and policy ~= "fail_closed" then
        fail("policy: %s (expected: fail_open or fail_closed)", tostring(policy))
    end

    local c = {
        name = name,
        dict = dict,
        dict_name = dict_name,
        prefix = "dockhealth:" .. name .. ":",
        topology = topology,
        policy = policy,
        fail_open = policy == "fail_open",
        retry_after = number(opts, "retry_after", 0, 86400),
        stale_after = number(opts, "stale_after", 0, 86400),
        -- The gateway cuts a longer wait to 2 minutes.
        wait = number(opts, "wait", 1, 120),
        timeout = number(opts, "timeout", 0.01, 60),
        backoff_min = number(opts, "backoff_min", 0.001, 60),
        backoff_max = number(opts, "backoff_max", 0.001, 3600),
        max_body = number(opts, "max_body", 1024, 1024 * 1024 * 1024),
        refresh = number(opts, "refresh", 0.01, 10),
        log_interval = number(opts, "log_interval", 0, 86400),
        max_fails = number(opts, "max_fails", 0, 1000, true),
        fail_timeout = number(opts, "fail_timeout", 0.001, 86400),
        hosts = {},
    }
    if c.backoff_max < c.backoff_min then
        fail("backoff_max: %s (expected: at least backoff_min, %s)", c.backoff_max, c.backoff_min)
    end
    if opts.tries ~= nil then
        c.tries = number(opts, "tries", 1, 1000, true)
    end
    if opts.fallback ~= nil then
        local host, port = peer_address(opts.fallback, "fallback")
        c.fallback = { addr = opts.fallback, host = host, port = port }
    end
    if opts.tls ~= nil then
        checked(tls.check(opts.tls, "tls"))
    end
    local ctx = { tls = opts.tls or nil, identities = {}, tls_used = false }
    TOPOLOGIES[topology](c, opts, ctx)
    if ctx.tls and not ctx.tls_used then
        fail("tls: no sidecar takes it (expected: a sidecar at an IP address and port; unix sockets are"
            .. " served without TLS, and hosts with tls = false in plaintext)")
    end

    c.wait_ms = floor(c.wait * 1000)
    c.timeout_ms = floor(c.timeout * 1000)
    -- The longest a sidecar in good health stays silent: a long-poll's wait, and the timeout the
    -- poller adds to it for the answer to come.
    c.silence = c.wait + c.timeout
    -- The holder renews its poll locks from the refresh timer, a fifth of their TTL apart, also
    -- while a long-poll waits: a worker that dies loses them within lock_ttl seconds.
    c.lock_ttl = c.refresh * 3 > 5 and c.refresh * 3 or 5
    c.lock_renew = c.lock_ttl / 5
    c.lock_retry = 1
    return c
end

return _M
