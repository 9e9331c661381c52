local fake = require("fake_ngx").install()
local instance = require "resty.dockhealth.instance"
local snapshot = require "resty.dockhealth.snapshot"

local function new(opts)
    opts.shared_dict = opts.shared_dict or "dockhealth"
    return instance.new(opts, {})
end

-- The sidecar's last answer in sync, as the poller stores it, at time `at`.
local function answered(inst, i, snap, at)
    local sc = inst.sidecars[i]
    inst.dict:set(sc.keys.data, snapshot.encode(snap))
    inst.dict:set(sc.keys.version, "1")
    inst.dict:set(sc.keys.heard_at, at or fake.clock.now)
    inst.dict:incr(inst.keys.gen, 1, 0)
end

local function containers(list)
    local services = {}
    for _, c in ipairs(list) do
        services[#services + 1] = { c.service, { { c.upstream, c.status or "SERVING", c.name } } }
    end
    return { version = "1", in_sync = true, services = services }
end

local function addrs(cursor)
    local out = {}
    for i, p in ipairs(cursor.peers) do
        out[i] = p.addr
    end
    return out
end

describe("resty.dockhealth.instance", function()
    before_each(function()
        fake.reset()
        fake.dict("dockhealth")
    end)

    describe("new", function()
        local cases = {
            { { topology = "mesh" }, "topology: mesh (expected: hosts, cluster or local)" },
            { { topology = "local", policy = "fail_opn" }, "policy: fail_opn (expected: fail_open or fail_closed)" },
            { { topology = "local", stale_afer = 3 }, "unknown option stale_afer" },
            { { topology = "local", max_fails = 1.5 }, "max_fails: 1.5 (expected: a whole number)" },
            { { topology = "local", fail_timeout = 0 }, "fail_timeout: 0 (expected: a number from 0.001 to 86400)" },
            { { topology = "local", shared_dict = "nope" }, "shared_dict: no lua_shared_dict named \"nope\"" },
            { { topology = "cluster" }, "hosts: expected a list such as { { address = \"10.0.0.11\"" },
            { { topology = "cluster", hosts = { { address = "10.0.0.11", sidecar = "10.0.0.11:4246", peer = "x" } } },
                "hosts[1]: unknown option peer (the cluster topology)" },
            { { topology = "cluster", hosts = { { address = "host-1", sidecar = "10.0.0.11:4246" } } },
                "hosts[1].address: host-1 (expected an IP address such as 10.0.0.1 or ::1: where this host's" },
            { { topology = "cluster", hosts = { { address = "10.0.0.11", sidecar = "10.0.0.11" } } },
                "hosts[1].sidecar: 10.0.0.11 (expected an IP address and port" },
            { { topology = "cluster", hosts = { { address = "10.0.0.11", sidecar = "10.0.0.11:4246" },
                { address = "10.0.0.12", sidecar = "10.0.0.11:4246" } } },
                "hosts[2].sidecar: 10.0.0.11:4246 is listed twice" },
            { { topology = "cluster", sidecar = "10.0.0.11:4246" },
                "sidecar: the cluster topology names a sidecar per host" },
            { { topology = "hosts", hosts = { { peer = "10.0.0.11:80", sidecar = "10.0.0.11:4246", address = "x" } } },
                "hosts[1]: unknown option address (the hosts topology)" },
            { { topology = "local", hosts = {} }, "hosts: the local topology takes its peers from one sidecar" },
        }
        for _, case in ipairs(cases) do
            it("refuses " .. case[2], function()
                local ok, err = pcall(new, case[1])
                assert.is_false(ok)
                assert.are.equal("string", type(err))
                assert.truthy(err:find("dockhealth.configure: " .. case[2], 1, true), err)
            end)
        end

        it("keeps the fixed configuration on the instance, with the defaults", function()
            local inst = new({ topology = "cluster", name = "apps", hosts = {
                { address = "10.0.0.11", sidecar = "10.0.0.11:4246" },
                { address = "::1", sidecar = "[::1]:4246" } } })
            assert.are.equal("apps", inst.name)
            assert.are.equal(1, inst.max_fails)
            assert.are.equal(10, inst.fail_timeout)
            assert.are.equal(30, inst.stale_after)
            assert.are.equal(22, inst.silence)
            assert.are.equal(2, #inst.sidecars)
            assert.are.equal("[::1]", inst.sidecars[2].peer_host)
            assert.is_nil(inst.worker)
        end)
    end)

    describe("sidecars", function()
        local function refused(opts, expected)
            local ok, err = pcall(new, opts)
            assert.is_false(ok)
            assert.are.equal("dockhealth.configure: " .. expected, err)
        end

        local function endpoints(inst)
            local out = {}
            for i, sc in ipairs(inst.sidecars) do
                local e = sc.endpoint
                out[i] = sc.addr .. " " .. (e.unix and "unix" or e.tls and e.tls.id or "tcp")
            end
            return out
        end

        it("takes unix sockets in every topology; the cluster's peers stay at the host's address", function()
            local inst = new({ topology = "local", sidecar = "unix:///run/dockhealth/http.sock" })
            assert.are.same({ "unix:/run/dockhealth/http.sock unix" }, endpoints(inst))
            inst = new({ topology = "hosts", hosts = {
                { peer = "10.0.0.11:80", sidecar = "unix:/run/dockhealth/http.sock" } } })
            assert.are.same({ "unix:/run/dockhealth/http.sock unix" }, endpoints(inst))
            inst = new({ topology = "cluster", hosts = {
                { address = "10.0.0.11", sidecar = "unix:/run/dockhealth/http.sock" },
                { address = "10.0.0.12", sidecar = "10.0.0.12:4246" } } })
            assert.are.same({ "unix:/run/dockhealth/http.sock unix", "10.0.0.12:4246 tcp" }, endpoints(inst))
            assert.are.equal("10.0.0.11", inst.sidecars[1].peer_host)
            answered(inst, 1, containers({ { service = "web", upstream = "127.0.0.1:8081", name = "web-1" } }))
            inst:start_worker()
            assert.are.same({ "10.0.0.11:8081" }, addrs((inst:choose("web"))))
        end)

        it("says what a sidecar address may be", function()
            refused({ topology = "local", sidecar = 4246 }, "sidecar: 4246 (expected an IP address and port such as"
                .. " 10.0.0.1:80 or [::1]:80, or a unix socket such as unix:/run/dockhealth/http.sock)")
        end)

        it("refuses a unix socket listed twice in both of its forms", function()
            refused({ topology = "cluster", hosts = {
                { address = "10.0.0.11", sidecar = "unix:/run/dockhealth/http.sock" },
                { address = "10.0.0.12", sidecar = "unix:///run/dockhealth/http.sock" } } },
                "hosts[2].sidecar: unix:/run/dockhealth/http.sock is listed twice")
            refused({ topology = "local", sidecar = "unix:run/http.sock" }, "sidecar: unix:run/http.sock"
                .. " (expected an absolute path to a socket such as unix:/run/dockhealth/http.sock)")
        end)

        it("talks TLS to every TCP sidecar of an instance with tls, a host's tls over it", function()
            local inst = new({ topology = "cluster", tls = { server_name = "dockhealth.internal" }, hosts = {
                { address = "10.0.0.11", sidecar = "10.0.0.11:4246" },
                { address = "10.0.0.12", sidecar = "10.0.0.12:4246", tls = { server_name = "host-2.internal" } },
                { address = "10.0.0.13", sidecar = "10.0.0.13:4246", tls = false },
                { address = "10.0.0.14", sidecar = "unix:/run/dockhealth/http.sock" },
            } })
            assert.are.same({
                "10.0.0.11:4246 tls dockhealth.internal verify reuse -",
                "10.0.0.12:4246 tls host-2.internal verify reuse -",
                "10.0.0.13:4246 tcp",
                "unix:/run/dockhealth/http.sock unix",
            }, endpoints(inst))
            inst:start_worker()
            local status = inst:describe(fake.clock.now)
            assert.are.equal("tls", status.sidecars["10.0.0.11:4246"].transport)
            assert.are.equal("tcp", status.sidecars["10.0.0.13:4246"].transport)
            assert.are.equal("unix", status.sidecars["unix:/run/dockhealth/http.sock"].transport)
            inst = new({ topology = "hosts", hosts = {
                { peer = "10.0.0.11:80", sidecar = "10.0.0.11:4246", tls = { verify = false } } } })
            assert.are.same({ "10.0.0.11:4246 tls - noverify reuse -" }, endpoints(inst))
        end)

        it("refuses TLS it cannot use, naming the option", function()
            refused({ topology = "local", tls = { server_name = "dockhealth.internal" },
                sidecar = "unix:/run/dockhealth/http.sock" }, "tls: no sidecar takes it (expected: a sidecar at an"
                .. " IP address and port; unix sockets are served without TLS, and hosts with tls = false in"
                .. " plaintext)")
            refused({ topology = "hosts", hosts = { { peer = "10.0.0.11:80", sidecar = "unix:/run/d.sock",
                tls = { verify = false } } } }, "hosts[1].tls: unix:/run/d.sock is a unix socket, which dockhealth"
                .. " serves without TLS (its file mode decides who connects; expected: no tls)")
            refused({ topology = "local", tls = {} }, "tls.server_name: missing (expected: the DNS name nginx"
                .. " checks in the sidecar's certificate, such as dockhealth.internal, while verify is on)")
            refused({ topology = "local", tls = { server_name = "127.0.0.1" } }, "tls.server_name: 127.0.0.1"
                .. " (expected: a DNS name in the sidecar's certificate, such as dockhealth.internal: nginx checks"
                .. " names, not IP addresses)")
            refused({ topology = "cluster", tls = { server_name = "a.internal" }, hosts = {
                { address = "10.0.0.11", sidecar = "10.0.0.11:4246", tls = { client_cert = "/c.pem" } } } },
                "hosts[1].tls.client_key: missing (expected: client_cert and client_key together)")
            refused({ topology = "local", tls = { server_name = "a.internal", client_cert = "/nonexistent/c.pem",
                client_key = "/nonexistent/c.key" } },
                "tls.client_cert: /nonexistent/c.pem (cannot read it: No such file or directory)")
            refused({ topology = "hosts", hosts = {
                { peer = "10.0.0.11:80", sidecar = "10.0.0.11:4246" },
                { peer = "10.0.0.11:81", sidecar = "10.0.0.11:4246", tls = { server_name = "a.internal" } } } },
                "hosts[2].tls: other TLS settings than an earlier host's for the same sidecar 10.0.0.11:4246")
            refused({ topology = "local", tls = { ca = "/etc/ca.pem" } }, "tls: unknown option ca (nginx checks"
                .. " the sidecar's certificate against lua_ssl_trusted_certificate, which goes in the http block)")
        end)

        it("lets hosts share a sidecar with the same TLS settings", function()
            local inst = new({ topology = "hosts", tls = { server_name = "a.internal" }, hosts = {
                { peer = "10.0.0.11:80", sidecar = "10.0.0.11:4246" },
                { peer = "10.0.0.11:81", sidecar = "10.0.0.11:4246", tls = { server_name = "a.internal" } } } })
            assert.are.equal(1, #inst.sidecars)
        end)
    end)

    describe("cluster", function()
        local inst

        before_each(function()
            inst = new({ topology = "cluster", name = "c", stale_after = 30, hosts = {
                { address = "10.0.0.11", sidecar = "10.0.0.11:4246" },
                { address = "10.0.0.12", sidecar = "10.0.0.12:4246" },
            } })
            answered(inst, 1, containers({
                { service = "web", upstream = "127.0.0.1:8081", name = "web-1" },
                { service = "web", upstream = "127.0.0.1:8082", name = "web-2", status = "NOT_SERVING" },
            }))
            answered(inst, 2, containers({
                { service = "web", upstream = "127.0.0.1:8081", name = "web-3" },
                { service = "api", upstream = "127.0.0.1:9000", name = "api-1" },
            }))
            inst:start_worker()
        end)

        it("merges the containers of every host, each at its host's address and port", function()
            local cursor, how = inst:choose("web")
            assert.are.equal("eligible", how)
            assert.are.same({ "10.0.0.11:8081", "10.0.0.12:8081" }, addrs(cursor))
            local view = inst.worker.view
            assert.are.same({ "10.0.0.11:8081", "10.0.0.11:8082", "10.0.0.12:8081" }, addrs(view.services.web.known))
            assert.are.same({ "10.0.0.12:9000" }, addrs((inst:choose("api"))))
            assert.are.same({ nil, "unknown" }, { inst:choose("nope") })
        end)

        it("lets each sidecar's part go stale on its own", function()
            inst.dict:set(inst.sidecars[2].keys.fail_since, 1000)
            inst.dict:incr(inst.keys.gen, 1, 0)
            fake.clock.now = 1029
            inst.dict:set(inst.sidecars[1].keys.heard_at, 1029) -- the first one keeps answering
            inst:update(fake.clock.now)
            assert.are.same({ "10.0.0.11:8081", "10.0.0.12:8081" }, addrs((inst:choose("web"))))
            fake.clock.now = 1030
            inst:update(fake.clock.now)
            assert.are.same({ "10.0.0.11:8081" }, addrs((inst:choose("web"))))
            -- api has no other peer: fail_open sends it to the known one.
            local cursor, how = inst:choose("api")
            assert.are.equal("fail_open", how)
            assert.are.same({ "10.0.0.12:9000" }, addrs(cursor))
            local status = inst:describe(fake.clock.now)
            assert.is_true(status.sidecars["10.0.0.12:4246"].stale)
            assert.is_false(status.sidecars["10.0.0.11:4246"].stale)
            assert.are.equal("10.0.0.12", status.sidecars["10.0.0.12:4246"].peer_host)
        end)

        it("notices a silent sidecar when its trust runs out, without a new generation", function()
            -- Both answered at 1000; the first keeps answering, the second hangs.
            fake.clock.now = 1025
            inst.dict:set(inst.sidecars[1].keys.heard_at, 1025)
            inst:update(fake.clock.now)
            assert.are.equal(2, inst:choose("web").n)
            fake.clock.now = 1030
            inst:update(fake.clock.now)
            assert.are.same({ "10.0.0.11:8081" }, addrs((inst:choose("web"))))
        end)

        it("keeps a worker's rotation over a rebuild that leaves the list as it was", function()
            local before = inst:choose("web")
            answered(inst, 2, containers({
                { service = "web", upstream = "127.0.0.1:8081", name = "web-3" },
                { service = "api", upstream = "127.0.0.1:9000", name = "api-1", status = "NOT_SERVING" },
            }))
            inst:update(fake.clock.now)
            assert.are.equal(before, inst:choose("web"))
        end)

        it("loads the peers the passive checks skip, for every peer of the view", function()
            local passive = inst.worker.passive
            local other = require("resty.dockhealth.passive").new(inst)
            other:failed({ addr = "10.0.0.12:8081" }, fake.clock.now)
            inst:update(fake.clock.now)
            assert.are.same({ ["10.0.0.12:8081"] = 1010 }, passive.down)
        end)
    end)

    describe("local", function()
        it("sends to each container's upstream as the sidecar gives it", function()
            local inst = new({ topology = "local", sidecar = "127.0.0.1:4246", policy = "fail_closed" })
            answered(inst, 1, containers({
                { service = "web", upstream = "127.0.0.1:8081", name = "web-1", status = "NOT_SERVING" },
                { service = "api", upstream = "[::1]:9000", name = "api-1" },
                { service = "bad", upstream = "localhost:80", name = "bad-1" },
            }))
            inst:start_worker()
            assert.are.same({ "[::1]:9000" }, addrs((inst:choose("api"))))
            assert.are.same({ nil, "no_peer" }, { inst:choose("web") })
            assert.are.same({ nil, "no_peer" }, { inst:choose("bad") })
            assert.are.equal(1, #fake.logged("container bad-1 has an upstream the balancer cannot use: localhost:80"))
        end)
    end)

    describe("hosts", function()
        it("makes a host eligible for the services its sidecar says are SERVING", function()
            local inst = new({ topology = "hosts", hosts = {
                { peer = "10.0.0.11:80", sidecar = "10.0.0.11:4246" },
                { peer = "10.0.0.12:80", sidecar = "10.0.0.12:4246", weight = 2 },
            } })
            answered(inst, 1, { version = "1", in_sync = true, services = { { "web", "SERVING" } } })
            answered(inst, 2, { version = "1", in_sync = true, services = { { "web", "NOT_SERVING" } } })
            inst:start_worker()
            assert.are.same({ "10.0.0.11:80" }, addrs((inst:choose("web"))))
            assert.are.same({ "10.0.0.11:80", "10.0.0.12:80" }, addrs(inst.worker.view.services.web.known))
        end)
    end)
end)
