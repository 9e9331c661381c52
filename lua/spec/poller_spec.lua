local fake = require("fake_ngx").install()

-- The sidecar's gateway, scripted: each get() takes the next answer; a function answers from opts.
local answers = {}
local asked = {}
local seen = {}
package.loaded["resty.dockhealth.http"] = {
    get = function(opts)
        asked[#asked + 1] = opts.path
        seen[#seen + 1] = opts
        local a = table.remove(answers, 1)
        if type(a) == "function" then
            return a(opts)
        end
        return a[1], a[2], a[3]
    end,
}
local instance = require "resty.dockhealth.instance"
local poller = require "resty.dockhealth.poller"

local function services(version, in_sync, status)
    return { { status = 200, body = string.format(
        '{"version": "%s", "inSync": %s, "services": [{"name": "web", "status": "%s"}]}',
        version, tostring(in_sync), status or "SERVING") } }
end

describe("resty.dockhealth.poller", function()
    local dict, inst, sc, p

    before_each(function()
        fake.reset()
        dict = fake.dict("dockhealth")
        answers, asked = {}, {}
        inst = instance.new({ name = "i", shared_dict = "dockhealth", topology = "hosts", stale_after = 30,
            wait = 20, timeout = 2, hosts = { { peer = "10.0.0.11:80", sidecar = "10.0.0.11:4246" } } }, {})
        -- The refresh timer renews the lock while a long-poll waits; here time jumps instead.
        inst.lock_ttl = 3600
        sc = inst.sidecars[1]
        p = poller.new(inst, sc)
    end)

    it("stores an answer in sync and bumps the generation, then long-polls from its version", function()
        answers = { services("7", true), { { status = 304, body = "" } } }
        assert.are.equal(0, p:round())
        assert.are.equal("7", dict:get(sc.keys.version))
        assert.truthy(dict:get(sc.keys.data):find('"web"', 1, true))
        assert.are.equal(1, dict:get(inst.keys.gen))
        assert.are.equal(1000, dict:get(sc.keys.heard_at))
        fake.clock.now = 1020
        assert.are.equal(0, p:round())
        assert.are.same({ "/v1/health", "/v1/health?since=7&wait=20000ms" }, asked)
        assert.are.equal(1020, dict:get(sc.keys.heard_at))
        assert.are.equal(1, dict:get(inst.keys.gen), "a 304 changes nothing")
        assert.are.equal(tostring(4242), dict:get(sc.keys.lock))
    end)

    it("keeps the last good snapshot when the sidecar is up but not in sync, and counts it as failing", function()
        answers = { services("7", true) }
        p:round()
        local good = dict:get(sc.keys.data)
        -- Restarted without Docker: it knows nothing yet.
        fake.clock.now = 1005
        answers = { { { status = 200, body = '{"version": "0", "services": [{"name": "", "status": '
            .. '"NOT_SERVING"}], "inSync": false}' } }, { { status = 304, body = "" } } }
        p.resync = true
        p:round()
        assert.are.equal(good, dict:get(sc.keys.data))
        assert.are.equal("7", dict:get(sc.keys.version))
        assert.are.equal(1005, dict:get(sc.keys.fail_since))
        assert.truthy(dict:get(sc.keys.err):find("not in sync with Docker", 1, true))
        assert.are.equal(1035, sc:trusted_until())
        -- It is long-polled for the change, and a 304 leaves it failing.
        fake.clock.now = 1025
        p:round()
        assert.are.equal("/v1/health?since=0&wait=20000ms", asked[#asked])
        assert.are.equal(1005, dict:get(sc.keys.fail_since))
        assert.are.equal(1, #fake.logged("failed: not in sync with Docker"))
        -- Back in sync: stored, trusted again.
        answers = { services("3", true, "NOT_SERVING") }
        fake.clock.now = 1030
        assert.are.equal(0, p:round())
        assert.is_nil(dict:get(sc.keys.fail_since))
        assert.truthy(dict:get(sc.keys.data):find("NOT_SERVING", 1, true))
        assert.are.equal(1, #fake.logged("answers again, in sync, after 25 s"))
    end)

    it("dates a failure by timeout from the start of the exchange, others from when they happen", function()
        answers = { services("7", true) }
        p:round()
        -- A hung sidecar: the long-poll's read times out after wait + timeout.
        answers = { function()
            fake.clock.now = fake.clock.now + 22
            return nil, "GET /v1/health?since=7: reading the status line failed: timeout", true
        end }
        fake.clock.now = 1001
        assert.are.equal(0.1, p:round())
        assert.are.equal(1001, dict:get(sc.keys.fail_since))
        assert.are.equal(1031, sc:trusted_until())
        -- Refused from then on: the first failure stands, retried with a doubling backoff.
        answers = { { nil, "connect failed: connection refused", false } }
        assert.are.equal(0.2, p:round())
        assert.are.equal(1001, dict:get(sc.keys.fail_since))
        assert.are.equal("GET /v1/health: connect failed: connection refused", dict:get(sc.keys.err))
    end)

    it("reads the containers in the other topologies, after each change", function()
        inst = instance.new({ name = "c", shared_dict = "dockhealth", topology = "cluster",
            hosts = { { address = "10.0.0.11", sidecar = "10.0.0.11:4246" } } }, {})
        p = poller.new(inst, inst.sidecars[1])
        local containers = { { status = 200, body = '{"version": "4", "inSync": true, "containers": []}' } }
        answers = { containers, { { status = 200, body = '{"version": "5", "inSync": true}' } }, containers }
        p:round()
        p:round()
        assert.are.same({ "/v1/containers", "/v1/health?since=4&wait=20000ms", "/v1/containers" }, asked)
    end)

    it("reaches its sidecar as configured: a unix socket, or TLS resuming this poller's session", function()
        inst = instance.new({ name = "u", shared_dict = "dockhealth", topology = "cluster",
            tls = { server_name = "dockhealth.internal" }, hosts = {
                { address = "10.0.0.11", sidecar = "unix:///run/dockhealth/http.sock" },
                { address = "10.0.0.12", sidecar = "10.0.0.12:4246" } } }, {})
        local containers = { { status = 200, body = '{"version": "4", "inSync": true, "containers": []}' } }
        seen = {}
        answers = { containers, containers, containers }
        local unix, secure = poller.new(inst, inst.sidecars[1]), poller.new(inst, inst.sidecars[2])
        unix:round()
        secure:round()
        secure.resync = true
        secure:round()
        assert.are.same({ "unix:/run/dockhealth/http.sock", "localhost" }, { seen[1].host, seen[1].host_header })
        assert.is_nil(seen[1].port)
        assert.is_nil(seen[1].tls)
        assert.are.same({ "10.0.0.12", 4246 }, { seen[2].host, seen[2].port })
        assert.are.equal("dockhealth.internal", seen[2].tls.server_name)
        assert.are.equal("dockhealth:10.0.0.12:4246 tls dockhealth.internal verify reuse -", seen[2].pool)
        -- The same holder every time: the next handshake resumes the last one's session.
        assert.are.equal(secure.tls_session, seen[2].tls_session)
        assert.are.equal(secure.tls_session, seen[3].tls_session)
        assert.are_not.equal(unix.tls_session, secure.tls_session)
    end)

    it("waits for the lock another worker holds", function()
        dict:set(sc.keys.lock, "1111", 5)
        assert.are.equal(inst.lock_retry, p:round())
        assert.are.same({}, asked)
    end)
end)
