local http = require "resty.dockhealth.http"

-- A hand-written fake of ngx.socket.tcp: it records what the client does and answers from a
-- script, one response text per connection.
local function fake_tcp(scripts)
    local log = { sockets = {} }
    local factory = function()
        local script = table.remove(scripts, 1)
        local sock = { sent = {}, closed = false, kept = false }
        log.sockets[#log.sockets + 1] = sock
        local data = script.response or ""
        function sock.settimeouts(_, c, s, r)
            sock.timeouts = { c, s, r }
        end
        function sock.connect(_, host, port, opts)
            if type(port) == "table" or port == nil then
                -- A unix socket: connect("unix:/path", opts).
                port, opts = nil, port
            end
            sock.target = port and (host .. ":" .. port) or host
            sock.pool = opts and opts.pool
            if script.connect_error then
                return nil, script.connect_error
            end
            return 1
        end
        function sock.getreusedtimes()
            return script.reused or 0
        end
        function sock.setclientcert(_, chain, key)
            sock.client_cert = { chain, key }
            return true
        end
        function sock.sslhandshake(_, session, server_name, verify)
            sock.handshake = { session = session, server_name = server_name, verify = verify }
            if script.handshake_error then
                return nil, script.handshake_error
            end
            if session == false then
                return true
            end
            return "session of socket " .. #log.sockets
        end
        function sock.send(_, s)
            sock.sent[#sock.sent + 1] = s
            return #s
        end
        function sock.receive(_, pattern)
            if pattern == "*l" then
                local nl = data:find("\n", 1, true)
                if not nl then
                    return nil, script.error or "closed"
                end
                local line = data:sub(1, nl - 1):gsub("\r$", "")
                data = data:sub(nl + 1)
                return line
            end
            if #data < pattern then
                return nil, script.error or "closed"
            end
            local chunk = data:sub(1, pattern)
            data = data:sub(pattern + 1)
            return chunk
        end
        function sock.close()
            sock.closed = true
            return 1
        end
        function sock.setkeepalive(_, timeout, size)
            sock.kept = { timeout, size }
            return 1
        end
        return sock
    end
    return factory, log
end

local function get(scripts, overrides)
    local tcp, log = fake_tcp(scripts)
    local opts = {
        host = "127.0.0.1", port = 4246, host_header = "127.0.0.1:4246", path = "/v1/health",
        connect_timeout = 1000, send_timeout = 1000, read_timeout = 31000, max_body = 100,
        keepalive_timeout = 60000, keepalive_size = 2, pool = "p", tcp = tcp,
    }
    for k, v in pairs(overrides or {}) do
        opts[k] = v
    end
    local res, err, timed_out = http.get(opts)
    return res, err, log, timed_out
end

describe("resty.dockhealth.http", function()
    it("sends a plain GET and reads a body framed by Content-Length", function()
        local res, err, log = get({ { response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            .. "Content-Length: 11\r\n\r\n{\"a\":\"b\"}\n\nrest" } })
        assert.is_nil(err)
        assert.are.equal(200, res.status)
        assert.are.equal("application/json", res.headers["content-type"])
        assert.are.equal("{\"a\":\"b\"}\n\n", res.body)
        local sock = log.sockets[1]
        assert.are.equal("GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1:4246\r\n"
            .. "User-Agent: lua-resty-dockhealth/0.1.0\r\nAccept: application/json\r\n\r\n", sock.sent[1])
        assert.are.same({ 1000, 1000, 31000 }, sock.timeouts)
        assert.are.equal("127.0.0.1:4246", sock.target)
        assert.are.equal("p", sock.pool)
        assert.are.same({ 60000, 2 }, sock.kept)
        assert.is_false(sock.closed)
    end)

    it("reads no body for 304 and 204", function()
        local res = get({ { response = "HTTP/1.1 304 Not Modified\r\nCache-Control: no-store\r\n\r\n" } })
        assert.are.equal(304, res.status)
        assert.are.equal("", res.body)
    end)

    it("closes the connection when the server says so, or for HTTP/1.0", function()
        local _, _, log = get({ { response = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n" } })
        assert.is_true(log.sockets[1].closed)
        assert.is_false(log.sockets[1].kept)
        _, _, log = get({ { response = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n" } })
        assert.is_true(log.sockets[1].closed)
        _, _, log = get({ { response = "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n" } })
        assert.is_false(log.sockets[1].closed)
    end)

    local refusals = {
        { "a chunked body", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            "Transfer-Encoding chunked is not supported (expected: a body framed by Content-Length)" },
        { "no Content-Length", "HTTP/1.1 200 OK\r\n\r\nbody", "status 200 without a valid Content-Length" },
        { "a bad Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "status 200 without a valid Content-Length" },
        { "conflicting Content-Lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            "conflicting Content-Length headers" },
        { "a body over max_body", "HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n",
            "a body of 101 bytes, over max_body (100)" },
        { "a short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "reading the body failed: closed" },
        { "a bad status line", "HTTP/2 200\r\n\r\n", "bad status line: HTTP/2 200" },
        { "an interim response", "HTTP/1.1 100 Continue\r\n\r\n", "unexpected interim response 100" },
        { "a bad header line", "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "bad header line: no colon here" },
        { "headers cut short", "HTTP/1.1 200 OK\r\nA: b\r\n", "reading the headers failed: closed" },
        { "too many header lines", "HTTP/1.1 200 OK\r\n" .. string.rep("X: y\r\n", 65) .. "\r\n",
            "more than 64 header lines" },
    }
    for _, case in ipairs(refusals) do
        it("refuses " .. case[1] .. " and closes the connection", function()
            local res, err, log = get({ { response = case[2] } })
            assert.is_nil(res)
            assert.are.equal(case[3], err)
            assert.is_true(log.sockets[1].closed)
        end)
    end

    it("says which step failed, and whether it timed out", function()
        local res, err, _, timed_out = get({ { connect_error = "connection refused" } })
        assert.is_nil(res)
        assert.are.equal("connect failed: connection refused", err)
        assert.is_false(timed_out)
        res, err, _, timed_out = get({ { response = "HTTP/1.1 200", error = "timeout" } })
        assert.is_nil(res)
        assert.are.equal("reading the status line failed: timeout", err)
        assert.is_true(timed_out)
        _, err, _, timed_out = get({ { connect_error = "timeout" } })
        assert.are.equal("connect failed: timeout", err)
        assert.is_true(timed_out)
        _, err, _, timed_out = get({ { response = "HTTP/1.1 200 OK\r\n\r\n" } })
        assert.are.equal("status 200 without a valid Content-Length", err)
        assert.is_false(timed_out)
    end)

    it("repeats the request once on a fresh connection when a pooled one was closed", function()
        local res, err, log = get({
            { reused = 3, response = "" },
            { response = "HTTP/1.1 304 Not Modified\r\n\r\n" },
        })
        assert.is_nil(err)
        assert.are.equal(304, res.status)
        assert.are.equal(2, #log.sockets)
        assert.is_true(log.sockets[1].closed)
    end)

    it("does not repeat on a fresh connection, nor after a timeout", function()
        local res, err, log = get({ { response = "" }, { response = "HTTP/1.1 304 Not Modified\r\n\r\n" } })
        assert.is_nil(res)
        assert.are.equal(1, #log.sockets)
        assert.are.equal("reading the status line failed: closed (a new connection, closed without an answer:"
            .. " does the sidecar serve TLS there?)", err)
        res, err, log = get({ { reused = 1, response = "", error = "timeout" },
            { response = "HTTP/1.1 304 Not Modified\r\n\r\n" } })
        assert.is_nil(res)
        assert.are.equal(1, #log.sockets)
        assert.are.equal("reading the status line failed: timeout", err)
    end)

    describe("over a unix socket", function()
        it("connects to the path, in its pool", function()
            local res, err, log = get({ { response = "HTTP/1.1 304 Not Modified\r\n\r\n" } },
                { host = "unix:/run/dockhealth/http.sock", port = false, host_header = "localhost" })
            assert.is_nil(err)
            assert.are.equal(304, res.status)
            assert.are.equal("unix:/run/dockhealth/http.sock", log.sockets[1].target)
            assert.are.equal("p", log.sockets[1].pool)
            assert.truthy(log.sockets[1].sent[1]:find("\r\nHost: localhost\r\n", 1, true))
        end)

        it("says what nginx's workers need when the socket refuses them", function()
            local _, err = get({ { connect_error = "permission denied" } },
                { host = "unix:/run/dockhealth/http.sock", port = false })
            assert.are.equal("connect failed: permission denied (nginx's worker user may not connect to the socket:"
                .. " its mode, --socket-mode, and group must let it)", err)
        end)
    end)

    describe("over TLS", function()
        local settings = { server_name = "dockhealth.internal", verify = true, session_reuse = true,
            chain = "chain", key = "key" }

        it("presents the client certificate, checks the name and resumes this poller's last session", function()
            local state = {}
            local res, err, log = get({ { response = "HTTP/1.1 304 Not Modified\r\n\r\n" } },
                { tls = settings, tls_session = state })
            assert.is_nil(err)
            assert.are.equal(304, res.status)
            local sock = log.sockets[1]
            assert.are.same({ "chain", "key" }, sock.client_cert)
            assert.are.same({ server_name = "dockhealth.internal", verify = true }, sock.handshake)
            assert.are.equal("session of socket 1", state.session)
            local _
            _, _, log = get({ { response = "HTTP/1.1 304 Not Modified\r\n\r\n" } },
                { tls = settings, tls_session = state })
            assert.are.equal("session of socket 1", log.sockets[1].handshake.session)
        end)

        it("shakes hands once per connection, not on a pooled one", function()
            local _, err, log = get({ { reused = 2, response = "HTTP/1.1 304 Not Modified\r\n\r\n" } },
                { tls = settings, tls_session = {} })
            assert.is_nil(err)
            assert.is_nil(log.sockets[1].handshake)
        end)

        it("asks for no session when session_reuse is off, and sends no certificate without one", function()
            local state = {}
            local _, _, log = get({ { response = "HTTP/1.1 304 Not Modified\r\n\r\n" } },
                { tls = { verify = false, session_reuse = false }, tls_session = state })
            assert.are.same({ session = false, verify = false }, log.sockets[1].handshake)
            assert.is_nil(log.sockets[1].client_cert)
            assert.is_nil(state.session)
        end)

        local failures = {
            { "20: unable to get local issuer certificate", "TLS handshake failed: 20: unable to get local issuer"
                .. " certificate (the sidecar's certificate must chain to a CA in lua_ssl_trusted_certificate (http"
                .. " block), within lua_ssl_verify_depth)" },
            { "certificate host mismatch", "TLS handshake failed: certificate host mismatch (the sidecar's"
                .. " certificate does not carry the name tls.server_name)" },
            { "handshake failed", "TLS handshake failed: handshake failed (the sidecar refused it: with"
                .. " --tls-client-ca, a client certificate it does not trust, or none; or it does not serve TLS"
                .. " there. nginx's error log has OpenSSL's reason)" },
            { "ssl set client private key failed", "TLS handshake failed: ssl set client private key failed"
                .. " (tls.client_key is not the key of tls.client_cert)" },
            { "timeout", "TLS handshake failed: timeout" },
        }
        for _, case in ipairs(failures) do
            it("says what a failed handshake means: " .. case[1], function()
                local state = { session = "old" }
                local res, err, log, timed_out = get({ { handshake_error = case[1] } },
                    { tls = settings, tls_session = state })
                assert.is_nil(res)
                assert.are.equal(case[2], err)
                assert.are.equal(case[1] == "timeout", timed_out)
                assert.is_true(log.sockets[1].closed)
                assert.is_nil(log.sockets[1].sent[1])
                assert.are.equal("old", state.session)
            end)
        end

        it("says what a connection failing right after the handshake likely means", function()
            for _, failure in ipairs({ "closed", "error" }) do
                local _, err = get({ { response = "", error = failure } }, { tls = settings, tls_session = {} })
                assert.are.equal("reading the status line failed: " .. failure .. " (right after the TLS handshake:"
                    .. " how a sidecar with --tls-client-ca refuses a client certificate under TLS 1.3)", err)
            end
        end)
    end)
end)
