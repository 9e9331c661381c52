local fake = require("fake_ngx").install()
local sidecar = require "resty.dockhealth.sidecar"

describe("resty.dockhealth.sidecar", function()
    local dict, inst, sc

    before_each(function()
        fake.reset()
        dict = fake.dict("d")
        -- stale_after 30, a long-poll wait of 20 and a timeout of 2: silence 22.
        inst = { dict = dict, prefix = "dockhealth:i:", stale_after = 30, silence = 22 }
        sc = sidecar.new(inst, "10.0.0.11:4246", "10.0.0.11")
    end)

    local function answered(at, version)
        dict:set(sc.keys.version, version or "1")
        dict:set(sc.keys.heard_at, at)
    end

    it("knows where the sidecar is and where its state lives", function()
        assert.are.same({ addr = "10.0.0.11:4246", host = "10.0.0.11", port = 4246, unix = false,
            host_header = "10.0.0.11:4246", pool = "dockhealth:10.0.0.11:4246" }, sc.endpoint)
        assert.are.equal("dockhealth:i:sidecar:10.0.0.11:4246:fail_since", sc.keys.fail_since)
        assert.are.equal("10.0.0.11", sc.peer_host)
        local endpoint, err = sidecar.endpoint("sidecar.internal:4246")
        assert.is_nil(endpoint)
        assert.are.equal("expected an IP address and port such as 10.0.0.1:80 or [::1]:80, or a unix socket"
            .. " such as unix:/run/dockhealth/http.sock", err)
    end)

    it("reaches a unix socket in ngx_lua's form, as localhost, whichever form it was given in", function()
        for _, spec in ipairs({ "unix:/run/dockhealth/http.sock", "unix:///run/dockhealth/http.sock" }) do
            assert.are.same({ addr = "unix:/run/dockhealth/http.sock", host = "unix:/run/dockhealth/http.sock",
                unix = true, host_header = "localhost", pool = "dockhealth:unix:/run/dockhealth/http.sock" },
                sidecar.endpoint(spec))
        end
        local unix = sidecar.new(inst, "unix:///run/dockhealth/http.sock")
        assert.are.equal("unix:/run/dockhealth/http.sock", unix.addr)
        assert.are.equal("dockhealth:i:sidecar:unix:/run/dockhealth/http.sock:version", unix.keys.version)
        assert.are.same({ nil, "expected an absolute path to a socket such as unix:/run/dockhealth/http.sock" },
            { sidecar.endpoint("unix:run/http.sock") })
    end)

    it("keeps TLS connections in a pool of their own settings", function()
        local tls = { id = "tls dockhealth.internal verify reuse -" }
        local endpoint = sidecar.endpoint("10.0.0.11:4246", tls)
        assert.are.equal(tls, endpoint.tls)
        assert.are.equal("dockhealth:10.0.0.11:4246 tls dockhealth.internal verify reuse -", endpoint.pool)
        assert.are_not.equal(sidecar.endpoint("10.0.0.11:4246").pool, endpoint.pool)
    end)

    it("trusts nothing before the first snapshot in sync", function()
        dict:set(sc.keys.heard_at, 1000)
        assert.is_nil(sc:trusted_until())
        assert.is_true(sc:is_stale(1000))
    end)

    it("trusts a failing sidecar for stale_after from its first failure", function()
        answered(990)
        dict:set(sc.keys.fail_since, 1005)
        assert.are.equal(1035, sc:trusted_until())
        assert.is_false(sc:is_stale(1034.9))
        assert.is_true(sc:is_stale(1035))
    end)

    it("trusts a silent sidecar for stale_after from its last answer", function()
        -- A hang: nothing failed yet, the poller still waits for the long-poll.
        answered(1000)
        assert.are.equal(1030, sc:trusted_until())
        assert.is_false(sc:is_stale(1029))
        assert.is_true(sc:is_stale(1030))
    end)

    it("trusts a silent sidecar at least until its answer is overdue", function()
        inst.stale_after = 5
        answered(1000)
        assert.are.equal(1022, sc:trusted_until())
        inst.stale_after = 0
        assert.are.equal(1022, sc:trusted_until())
    end)
end)
