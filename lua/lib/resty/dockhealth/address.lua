-- The addresses the balancer dials: peers (ngx.balancer.set_current_peer) and sidecars
-- (tcpsock:connect). Only IP addresses: balancer_by_lua cannot resolve names. An IPv6 host keeps
-- its brackets, which both set_current_peer and tcpsock:connect need. A sidecar may also listen on
-- a unix socket (parse_unix).

local type = type
local tonumber = tonumber
local sub = string.sub

local _M = { _VERSION = "0.1.0" }

local function ipv4(host)
    if not host:find("^%d+%.%d+%.%d+%.%d+$") then
        return nil
    end
    for octet in host:gmatch("%d+") do
        if tonumber(octet) > 255 then
            return nil
        end
    end
    return host
end

-- Bracketed; loosely checked (hex digits, colons and dots, at least two colons): the connect
-- fails on anything else.
local function ipv6(host)
    local inner = host:match("^%[([%x:%.]+)%]$")
    if not inner or not inner:find(":.*:") then
        return nil
    end
    return host
end

--- Parses an IP address and port.
-- @tparam string addr such as "10.0.0.1:80" or "[::1]:80"
-- @treturn[1] string the host, "10.0.0.1" or "[::1]"
-- @treturn[1] number the port
-- @treturn[2] nil
-- @treturn[2] string what is wrong
function _M.parse(addr)
    if type(addr) ~= "string" then
        return nil, "not a string"
    end
    local host, port = addr:match("^(.+):(%d+)$")
    if host then
        host = sub(host, 1, 1) == "[" and ipv6(host) or ipv4(host)
    end
    port = tonumber(port)
    if not host or not port or port < 1 or port > 65535 then
        return nil, "expected an IP address and port such as 10.0.0.1:80 or [::1]:80"
    end
    return host, port
end

--- Parses an IP address without a port, the host part of the peers of a host.
-- @tparam string ip such as "10.0.0.1", "::1" or "[::1]"
-- @treturn[1] string the host as parse gives it: "10.0.0.1" or "[::1]"
-- @treturn[2] nil
-- @treturn[2] string what is wrong
function _M.parse_ip(ip)
    if type(ip) ~= "string" then
        return nil, "not a string"
    end
    local host = ipv4(ip) or ipv6(ip) or (ip:find(":", 1, true) and ipv6("[" .. ip .. "]"))
    if not host then
        return nil, "expected an IP address such as 10.0.0.1 or ::1"
    end
    return host
end

-- sockaddr_un's sun_path holds 108 bytes with the final NUL.
local MAX_UNIX_PATH = 107

--- Parses a unix socket address, as ngx_lua takes it ("unix:/run/dockhealth/http.sock") or as the
-- sidecar's --http-address flag does ("unix:///run/dockhealth/http.sock").
-- @treturn[1] string the address in ngx_lua's form, "unix:/run/dockhealth/http.sock"
-- @treturn[2] nil
-- @treturn[2] string what is wrong
function _M.parse_unix(addr)
    if type(addr) ~= "string" then
        return nil, "not a string"
    end
    -- "unix://run/..." would be a host named run in a URL: refused rather than guessed.
    local path = addr:match("^unix://(/.*)$") or addr:match("^unix:(/[^/].*)$")
    -- ngx_lua reads what follows a ':' in the path as a URI, and nginx's own parser stops at spaces.
    if not path or path:find("[%c%s:]") or path:find("/$") then
        return nil, "expected an absolute path to a socket such as unix:/run/dockhealth/http.sock"
    end
    if #path > MAX_UNIX_PATH then
        return nil, "a socket path of " .. #path .. " bytes (expected: at most " .. MAX_UNIX_PATH .. ")"
    end
    return "unix:" .. path
end

return _M
