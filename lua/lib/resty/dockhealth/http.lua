-- A minimal, strict HTTP/1.1 GET over ngx.socket.tcp, for the sidecar's gateway only (lua-resty-http
-- is not in Debian). It takes exactly what the gateway sends: a status line, at most 64 header
-- lines, and a body framed by Content-Length (none for 204 and 304). Anything else, chunked
-- encoding included, is an error rather than a guess. Connect, send and read each have a timeout;
-- connections go back to a keepalive pool unless the server closes them. Over TCP or a unix
-- socket, with TLS if asked (tcpsock:sslhandshake, a client certificate by tcpsock:setclientcert).
--
-- Runs wherever cosockets do (timers, content handlers), never in balancer_by_lua.

local ngx = ngx
local tonumber = tonumber
local tostring = tostring
local lower = string.lower
local sub = string.sub
local find = string.find

local _M = { _VERSION = "0.1.0" }

local MAX_HEADER_LINES = 64
local USER_AGENT = "lua-resty-dockhealth/" .. _M._VERSION

local function snippet(s)
    s = tostring(s)
    if #s > 80 then
        s = sub(s, 1, 80) .. "..."
    end
    return (s:gsub("[%c]", "?"))
end

-- What a failure likely means, for the operator who reads the log line.
local HINTS = {
    ["certificate host mismatch"] = "the sidecar's certificate does not carry the name tls.server_name",
    ["handshake failed"] = "the sidecar refused it: with --tls-client-ca, a client certificate it does not"
        .. " trust, or none; or it does not serve TLS there. nginx's error log has OpenSSL's reason",
    ["ssl set client private key failed"] = "tls.client_key is not the key of tls.client_cert",
}

local function tls_hint(err)
    local hint = HINTS[err]
    if not hint and find(err, "^%d+: ") then
        -- OpenSSL's verify result: "20: unable to get local issuer certificate", ...
        hint = "the sidecar's certificate must chain to a CA in lua_ssl_trusted_certificate (http block),"
            .. " within lua_ssl_verify_depth"
    end
    return hint and " (" .. hint .. ")" or ""
end

local function fail(sock, err, retry)
    sock:close()
    return nil, err, retry
end

-- A socket operation that failed: the fourth result says whether it timed out.
local function io_fail(sock, what, err, retry)
    if sock then
        sock:close()
    end
    return nil, what .. " failed: " .. tostring(err), retry, err == "timeout"
end

-- The TLS handshake on a new connection: the client certificate if any, the name sent (SNI) and
-- checked, and the last session of this poller to resume (state.session), which the new one replaces.
local function handshake(sock, tls, state)
    if tls.chain then
        local ok, err = sock:setclientcert(tls.chain, tls.key)
        if not ok then
            return nil, err
        end
    end
    -- false: no session wanted back; nil: none to resume, but keep the new one.
    local resume = false
    if tls.session_reuse then
        resume = state and state.session
    end
    local session, err = sock:sslhandshake(resume, tls.server_name, tls.verify)
    if err then
        return nil, err
    end
    if state and tls.session_reuse then
        state.session = session
    end
    return true
end

-- One exchange. The third result is true when the request may be repeated on a fresh
-- connection: a pooled connection that the server had already closed; the fourth when it failed
-- by a timeout.
local function attempt(opts)
    local sock, err = (opts.tcp or ngx.socket.tcp)()
    if not sock then
        return nil, "cannot create a socket: " .. tostring(err)
    end
    sock:settimeouts(opts.connect_timeout, opts.send_timeout, opts.read_timeout)
    local ok
    -- connect() counts its arguments: a nil one is not the same as none.
    local host, port, pool = opts.host, opts.port, opts.pool and { pool = opts.pool }
    if port and pool then
        ok, err = sock:connect(host, port, pool)
    elseif port then
        ok, err = sock:connect(host, port)
    elseif pool then
        ok, err = sock:connect(host, pool)
    else
        ok, err = sock:connect(host)
    end
    if not ok then
        if err == "permission denied" and not port then
            err = err .. " (nginx's worker user may not connect to the socket: its mode, --socket-mode, and"
                .. " group must let it)"
        end
        return io_fail(nil, "connect", err)
    end
    local reused = (sock:getreusedtimes() or 0) > 0
    local tls = opts.tls
    if tls and not reused then
        ok, err = handshake(sock, tls, opts.tls_session)
        if not ok then
            return io_fail(sock, "TLS handshake", err .. tls_hint(err), false)
        end
    end

    local bytes
    bytes, err = sock:send("GET " .. opts.path .. " HTTP/1.1\r\n"
        .. "Host: " .. opts.host_header .. "\r\n"
        .. "User-Agent: " .. USER_AGENT .. "\r\n"
        .. "Accept: application/json\r\n\r\n")
    if not bytes then
        return io_fail(sock, "send", err, reused)
    end

    local line
    line, err = sock:receive("*l")
    if not line then
        if not reused and err ~= "timeout" then
            -- TLS 1.3 ends the handshake before the server has checked the client's certificate; its
            -- refusal comes as an alert, which ngx_lua reports as "error".
            err = err .. (tls and " (right after the TLS handshake: how a sidecar with --tls-client-ca refuses a"
                .. " client certificate under TLS 1.3)" or " (a new connection, closed without an answer: does"
                .. " the sidecar serve TLS there?)")
        end
        return io_fail(sock, "reading the status line", err, reused and err == "closed")
    end
    local major, minor, status = line:match("^HTTP/(%d)%.(%d) (%d%d%d)")
    if not status or major ~= "1" then
        return fail(sock, "bad status line: " .. snippet(line))
    end
    status = tonumber(status)
    if status < 200 then
        return fail(sock, "unexpected interim response " .. status)
    end

    local headers = {}
    for i = 1, MAX_HEADER_LINES + 1 do
        if i > MAX_HEADER_LINES then
            return fail(sock, "more than " .. MAX_HEADER_LINES .. " header lines")
        end
        line, err = sock:receive("*l")
        if not line then
            return io_fail(sock, "reading the headers", err)
        end
        if line == "" then
            break
        end
        local name, value = line:match("^([%w!#$%%&'*+%-%.^_`|~]+):[ \t]*(.-)[ \t]*$")
        if not name then
            return fail(sock, "bad header line: " .. snippet(line))
        end
        name = lower(name)
        local seen = headers[name]
        if seen and name == "content-length" and seen ~= value then
            return fail(sock, "conflicting Content-Length headers")
        end
        headers[name] = seen and name ~= "content-length" and (seen .. ", " .. value) or value
    end

    if headers["transfer-encoding"] then
        return fail(sock, "Transfer-Encoding " .. snippet(headers["transfer-encoding"])
            .. " is not supported (expected: a body framed by Content-Length)")
    end
    local body = ""
    if status ~= 204 and status ~= 304 then
        local length = headers["content-length"]
        if not length or not find(length, "^%d+$") or #length > 12 then
            return fail(sock, "status " .. status .. " without a valid Content-Length")
        end
        length = tonumber(length)
        if length > opts.max_body then
            return fail(sock, "a body of " .. length .. " bytes, over max_body (" .. opts.max_body .. ")")
        end
        if length > 0 then
            body, err = sock:receive(length)
            if not body then
                return io_fail(sock, "reading the body", err)
            end
        end
    end

    local connection = lower(headers.connection or "")
    if find(connection, "close", 1, true) or (minor == "0" and not find(connection, "keep-alive", 1, true)) then
        sock:close()
    else
        ok = sock:setkeepalive(opts.keepalive_timeout, opts.keepalive_size)
        if not ok then
            sock:close()
        end
    end
    return { status = status, headers = headers, body = body }
end

--- GET opts.path from opts.host:opts.port, or from the unix socket opts.host ("unix:/path").
-- @tparam table opts host, port (nil for a unix socket), host_header, path, connect_timeout,
--   send_timeout, read_timeout (ms), max_body (bytes), keepalive_timeout (ms), keepalive_size, pool
--   (a pool name, optional), tls (settings from tls.settings, optional), tls_session (a table the
--   caller keeps, where the last TLS session waits to be resumed), tcp (a socket factory, for tests;
--   default ngx.socket.tcp)
-- @treturn[1] table { status, headers (lower-case names), body }
-- @treturn[2] nil
-- @treturn[2] string what failed
-- @treturn[2] bool true when it failed by a timeout (connect, send or read)
function _M.get(opts)
    local res, err, retry, timed_out = attempt(opts)
    if not res and retry then
        local _
        res, err, _, timed_out = attempt(opts)
    end
    return res, err, timed_out == true
end

return _M
