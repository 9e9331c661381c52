-- A sidecar an instance listens to: where it is, where its state lives in the shared dict, and the
-- one rule that says how long its last snapshot may be trusted.
--
-- The poller (poller.lua) writes a sidecar's state to the dict; the views (view.lua) and the status
-- handler read it through trusted_until, so they always agree on what is stale.

local address = require "resty.dockhealth.address"

local setmetatable = setmetatable
local assert = assert
local type = type
local max = math.max
local sub = string.sub

local _M = { _VERSION = "0.1.0" }

local Sidecar = {}
local mt = { __index = Sidecar }

--- Where a sidecar is reached, for the poller: an IP address and port, or a unix socket
-- ("unix:/run/dockhealth/http.sock", or "unix:///run/..." as the sidecar's flag writes it).
-- @tparam string spec the address
-- @tparam[opt] table tls the TLS settings (tls.settings) for a TCP sidecar; nil for plaintext
-- @treturn[1] table { addr (spec, unix ones in ngx_lua's form), host, port (nil for a unix socket),
--   unix, host_header, pool, tls }
-- @treturn[2] nil
-- @treturn[2] string what is wrong
function _M.endpoint(spec, tls)
    local host, port, unix
    if type(spec) == "string" and sub(spec, 1, 5) == "unix:" then
        host, port = address.parse_unix(spec)
        if not host then
            return nil, port
        end
        spec, port, unix = host, nil, true
    else
        host, port = address.parse(spec)
        if not host then
            return nil, "expected an IP address and port such as 10.0.0.1:80 or [::1]:80, or a unix socket such"
                .. " as unix:/run/dockhealth/http.sock"
        end
    end
    return {
        addr = spec,
        host = host,
        port = port,
        unix = unix or false,
        -- The gateway answers Host names of its own: over a socket file, there is none but localhost.
        host_header = unix and "localhost" or spec,
        -- Connections with other TLS settings (another instance's) are not interchangeable.
        pool = "dockhealth:" .. spec .. (tls and " " .. tls.id or ""),
        tls = tls,
    }
end

--- A sidecar of inst.
-- @param inst the instance (its dict, prefix, stale_after and silence are used)
-- @tparam string spec where it is, as endpoint takes it (checked by the caller)
-- @tparam[opt] string peer_host the cluster topology's address of the sidecar's host
-- @tparam[opt] table tls its TLS settings, as endpoint takes them
function _M.new(inst, spec, peer_host, tls)
    local endpoint = assert(_M.endpoint(spec, tls))
    local base = inst.prefix .. "sidecar:" .. endpoint.addr .. ":"
    return setmetatable({
        inst = inst,
        addr = endpoint.addr,
        peer_host = peer_host,
        endpoint = endpoint,
        keys = {
            -- The snapshot's content (snapshot.encode) and its version, as last answered in sync.
            data = base .. "data",
            version = base .. "version",
            -- When it last answered at all, and since when it fails (unset while it does not).
            heard_at = base .. "heard_at",
            fail_since = base .. "fail_since",
            err = base .. "err",
            err_at = base .. "err_at",
            -- The pid of the worker that polls it.
            lock = base .. "lock",
        },
    }, mt)
end

--- Until when (ngx.now() time) the sidecar's last snapshot counts; nil when there is none.
--
-- A failing sidecar (refused, cut, a bad answer, up but not in sync with Docker) counts for
-- stale_after from its first failure. One that says nothing at all (hung, or no worker polls it)
-- counts for stale_after from its last answer, but at least until that answer is overdue: a
-- long-poll answers within wait, and the poller gives it timeout more (the instance's silence).
-- A failure by timeout is dated from the start of the exchange that timed out, so a hung sidecar
-- goes stale at most max(stale_after, silence) after its last answer, before or after the poller
-- notices.
function Sidecar:trusted_until()
    local inst, keys = self.inst, self.keys
    local dict = inst.dict
    if not dict:get(keys.version) then
        return nil
    end
    local fail_since = dict:get(keys.fail_since)
    if fail_since then
        return fail_since + inst.stale_after
    end
    return (dict:get(keys.heard_at) or 0) + max(inst.stale_after, inst.silence)
end

--- Whether the sidecar's last snapshot no longer counts at now (or there is none).
function Sidecar:is_stale(now)
    local until_ = self:trusted_until()
    return until_ == nil or now >= until_
end

return _M
