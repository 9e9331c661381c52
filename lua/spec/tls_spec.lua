local tls = require "resty.dockhealth.tls"

-- lua-resty-core's ngx.ssl, faked: a PEM is parsed when it has the right BEGIN line; a key is the
-- key of a certificate when both carry the same "id=" line.
local parsed = {}
package.loaded["ngx.ssl"] = {
    parse_pem_cert = function(pem)
        parsed[#parsed + 1] = "cert"
        if not pem:find("-----BEGIN CERTIFICATE-----", 1, true) then
            return nil, "PEM_read_bio_X509_AUX() failed"
        end
        return { leaf = { id = pem:match("id=(%w+)") } }
    end,
    parse_pem_priv_key = function(pem)
        parsed[#parsed + 1] = "key"
        if not pem:find("-----BEGIN PRIVATE KEY-----", 1, true) then
            return nil, "PEM_read_bio_PrivateKey() failed"
        end
        return { id = pem:match("id=(%w+)") }
    end,
}

-- OpenSSL through the FFI, faked; the specs run on plain Lua, which has no FFI.
local fake_ffi = {
    cdef = function() end,
    C = {
        OPENSSL_sk_value = function(chain, i)
            return i == 0 and chain.leaf or nil
        end,
        X509_check_private_key = function(leaf, key)
            return leaf.id == key.id and 1 or 0
        end,
        ERR_clear_error = function() end,
    },
}

local files = {}

local function file(text)
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write(text)
    f:close()
    files[#files + 1] = path
    return path
end

local function cert(id)
    return file("-----BEGIN CERTIFICATE-----\nid=" .. id .. "\n-----END CERTIFICATE-----\n")
end

local function key(id)
    return file("-----BEGIN PRIVATE KEY-----\nid=" .. id .. "\n-----END PRIVATE KEY-----\n")
end

describe("resty.dockhealth.tls", function()
    before_each(function()
        parsed = {}
        package.loaded.ffi = fake_ffi
    end)

    after_each(function()
        package.loaded.ffi = nil
        for _, path in ipairs(files) do
            os.remove(path)
        end
        files = {}
    end)

    describe("check", function()
        local cases = {
            { "yes", "tls: yes (expected: a table such as { server_name = \"dockhealth.internal\" }, or false)" },
            { { sni = "a" }, "tls: unknown option sni (expected: server_name, verify, client_cert, client_key or"
                .. " session_reuse)" },
            { { ca = "/etc/ca.pem" }, "tls: unknown option ca (nginx checks the sidecar's certificate against"
                .. " lua_ssl_trusted_certificate, which goes in the http block)" },
            { { verify = "no" }, "tls.verify: no (expected: true or false)" },
            { { session_reuse = 0 }, "tls.session_reuse: 0 (expected: true or false)" },
            { { server_name = "10.0.0.11" }, "tls.server_name: 10.0.0.11 (expected: a DNS name in the sidecar's"
                .. " certificate, such as dockhealth.internal: nginx checks names, not IP addresses)" },
            { { server_name = "::1" }, "tls.server_name: ::1 (expected: a DNS name" },
            { { server_name = "a b" }, "tls.server_name: a b (expected: a DNS name" },
            { { server_name = "" }, "tls.server_name:  (expected: a DNS name" },
            { { client_cert = 5 }, "tls.client_cert: 5 (expected: the path of a PEM file)" },
            { { client_key = "" }, "tls.client_key:  (expected: the path of a PEM file)" },
        }
        for _, case in ipairs(cases) do
            it("refuses " .. case[2], function()
                local ok, err = tls.check(case[1], "tls")
                assert.is_nil(ok)
                assert.are.equal(1, err:find(case[2], 1, true), err)
            end)
        end

        it("takes the options, and false for plaintext", function()
            assert.is_true(tls.check({ server_name = "dockhealth.internal", verify = true, session_reuse = false,
                client_cert = "/c.pem", client_key = "/c.key" }, "tls"))
            assert.is_true(tls.check({ server_name = "localhost" }, "tls"))
            assert.is_true(tls.check(false, "hosts[1].tls"))
            local _, err = tls.check({ verify = 1 }, "hosts[2].tls")
            assert.are.equal("hosts[2].tls.verify: 1 (expected: true or false)", err)
        end)
    end)

    describe("merge", function()
        it("lays a host's options over the instance's", function()
            assert.are.same({ server_name = "b.internal", verify = false },
                tls.merge({ server_name = "a.internal", verify = false }, { server_name = "b.internal" }))
            assert.are.same({ server_name = "b.internal" }, tls.merge(nil, { server_name = "b.internal" }))
            assert.are.same({ server_name = "a.internal" }, tls.merge({ server_name = "a.internal" }, nil))
        end)

        it("gives nil for plaintext: no tls, or a host's tls = false", function()
            assert.is_nil(tls.merge(nil, nil))
            assert.is_nil(tls.merge({ server_name = "a.internal" }, false))
        end)
    end)

    describe("settings", function()
        it("verifies by default, and then wants the name to check", function()
            local s = assert(tls.settings({ server_name = "dockhealth.internal" }, "tls", {}))
            assert.is_true(s.verify)
            assert.is_true(s.session_reuse)
            assert.are.equal("dockhealth.internal", s.server_name)
            assert.is_nil(s.chain)
            assert.are.equal("tls dockhealth.internal verify reuse -", s.id)
            local none, err = tls.settings({}, "hosts[3].tls", {})
            assert.is_nil(none)
            assert.are.equal("hosts[3].tls.server_name: missing (expected: the DNS name nginx checks in the"
                .. " sidecar's certificate, such as dockhealth.internal, while verify is on)", err)
        end)

        it("checks nothing when verify is off, and sends a name only if given", function()
            local s = assert(tls.settings({ verify = false, session_reuse = false }, "tls", {}))
            assert.is_false(s.verify)
            assert.is_false(s.session_reuse)
            assert.is_nil(s.server_name)
            assert.are.equal("tls - noverify noreuse -", s.id)
        end)

        it("reads the client certificate and its key, each pair once", function()
            local c, k = cert("one"), key("one")
            local identities = {}
            local s = assert(tls.settings({ server_name = "a.internal", client_cert = c, client_key = k }, "tls",
                identities))
            assert.are.same({ leaf = { id = "one" } }, s.chain)
            assert.are.same({ id = "one" }, s.key)
            assert.are.equal(c, s.client_cert)
            assert.are.equal("tls a.internal verify reuse " .. c, s.id)
            local again = assert(tls.settings({ server_name = "b.internal", client_cert = c, client_key = k },
                "hosts[2].tls", identities))
            assert.are.equal(s.chain, again.chain)
            assert.are.same({ "cert", "key" }, parsed)
        end)

        local function refused(t, expected)
            local s, err = tls.settings(t, "tls", {})
            assert.is_nil(s)
            assert.are.equal(expected, err)
        end

        it("wants the certificate and the key together", function()
            refused({ server_name = "a.internal", client_cert = "/c.pem" },
                "tls.client_key: missing (expected: client_cert and client_key together)")
            refused({ server_name = "a.internal", client_key = "/c.key" },
                "tls.client_cert: missing (expected: client_cert and client_key together)")
        end)

        it("names the file it cannot read or parse", function()
            refused({ server_name = "a.internal", client_cert = "/nonexistent/c.pem", client_key = key("one") },
                "tls.client_cert: /nonexistent/c.pem (cannot read it: No such file or directory)")
            local k = key("one")
            refused({ server_name = "a.internal", client_cert = k, client_key = k }, "tls.client_cert: " .. k
                .. " (expected: a PEM certificate, then any intermediate CA certificates: PEM_read_bio_X509_AUX()"
                .. " failed)")
            local c = cert("one")
            refused({ server_name = "a.internal", client_cert = c, client_key = c }, "tls.client_key: " .. c
                .. " (expected: an unencrypted PEM private key: PEM_read_bio_PrivateKey() failed)")
            local big = file(string.rep("x", 1024 * 1024 + 1))
            refused({ server_name = "a.internal", client_cert = big, client_key = k },
                "tls.client_cert: " .. big .. " (expected: a PEM file of at most 1 MiB)")
        end)

        it("says so when this nginx has no ngx.ssl", function()
            local ssl = package.loaded["ngx.ssl"]
            package.loaded["ngx.ssl"] = nil
            package.preload["ngx.ssl"] = function() error("no SSL here") end
            local c, k = cert("one"), key("one")
            local s, err = tls.settings({ server_name = "a.internal", client_cert = c, client_key = k }, "tls", {})
            package.preload["ngx.ssl"] = nil
            package.loaded["ngx.ssl"] = ssl
            assert.is_nil(s)
            assert.are.equal(1, err:find("tls.client_cert: " .. c .. " (mutual TLS needs lua-resty-core's ngx.ssl,"
                .. " and nginx built with SSL: ", 1, true), err)
            assert.truthy(err:find("no SSL here", 1, true), err)
        end)

        it("refuses a key that is not the certificate's", function()
            local c, k = cert("one"), key("two")
            refused({ server_name = "a.internal", client_cert = c, client_key = k },
                "tls.client_key: " .. k .. " (expected: the private key of client_cert " .. c .. ")")
        end)

        it("leaves the key to the first handshake where the FFI cannot check it", function()
            package.loaded.ffi = nil
            local c, k = cert("one"), key("two")
            local s = assert(tls.settings({ server_name = "a.internal", client_cert = c, client_key = k }, "tls", {}))
            assert.are.same({ id = "two" }, s.key)
        end)
    end)
end)
