local snapshot = require "resty.dockhealth.snapshot"

-- Bodies shaped like the gateway's proto3 JSON (server/.../http/JsonBodies.java).
local SERVICES = [[{
  "version": "12",
  "services": [
    {"name": "", "status": "SERVING", "members": [], "stale": false, "policy": "GROUP_POLICY_UNSPECIFIED"},
    {"name": "web", "status": "NOT_SERVING", "members": [{"containerId": "3f1c", "containerName": "shop-web-1",
      "rule": "MEMBERSHIP_RULE_COMPOSE_SERVICE", "servingStatus": "NOT_SERVING"}], "policy": "GROUP_POLICY_ANY"},
    {"name": "api", "status": "SERVING"},
    {"name": "gone"}
  ],
  "inSync": true
}]]

local CONTAINERS = [[{
  "version": "7",
  "containers": [
    {"id": "b2", "names": ["shop-web-2"], "services": ["b2", "shop-web-2", "web", "shop/web"],
     "servingStatus": "SERVING", "upstream": "127.0.0.1:8082", "removed": false},
    {"id": "a1", "names": ["shop-web-1"], "services": ["a1", "shop-web-1", "web", "shop/web"],
     "servingStatus": "NOT_SERVING", "upstream": "127.0.0.1:8081"},
    {"id": "c3", "names": ["batch"], "services": ["c3", "batch"], "servingStatus": "SERVING"},
    {"id": "d4", "names": ["old-web"], "services": ["d4", "old-web", "web"], "servingStatus": "NOT_SERVING",
     "upstream": "127.0.0.1:8083", "removed": true}
  ]
}]]

describe("resty.dockhealth.snapshot", function()
    describe("from_services", function()
        it("keeps every named service with its status, sorted, without the sidecar's own \"\"", function()
            local snap = assert(snapshot.from_services(SERVICES))
            assert.are.equal("12", snap.version)
            assert.is_true(snap.in_sync)
            assert.are.same({ { "api", "SERVING" }, { "gone", "UNKNOWN" }, { "web", "NOT_SERVING" } },
                snap.services)
        end)

        it("reads left-out defaults: version 0, no services, not in sync", function()
            local snap = assert(snapshot.from_services("{}"))
            assert.are.same({ version = "0", in_sync = false, services = {} }, snap)
        end)

        it("accepts a version printed as a number", function()
            assert.are.equal("5", assert(snapshot.from_services('{"version": 5}')).version)
        end)

        it("refuses what is not a ListServicesResponse", function()
            local cases = {
                ["not json"] = "GET /v1/health: bad JSON",
                ["[1]"] = "GET /v1/health: not a JSON object",
                ['"x"'] = "GET /v1/health: not a JSON object",
                ['{"version": "-1"}'] = "GET /v1/health: version is not a whole number: -1",
                ['{"version": "1e3"}'] = "GET /v1/health: version is not a whole number",
                ['{"services": {"a": 1}}'] = "GET /v1/health: services is not a list",
                ['{"services": "web"}'] = "GET /v1/health: services is not a list",
                ['{"services": [{"name": 3}]}'] = "GET /v1/health: services[1].name is not a string",
                ['{"services": [{"name": "a", "status": true}]}'] = "services[1].status is not an enum name",
            }
            for body, expected in pairs(cases) do
                local snap, err = snapshot.from_services(body)
                assert.is_nil(snap, body)
                assert.truthy(err:find(expected, 1, true), body .. " gave " .. tostring(err))
            end
        end)
    end)

    describe("from_containers", function()
        it("lists, per service name, the live containers with an upstream, sorted by name", function()
            local snap = assert(snapshot.from_containers(CONTAINERS))
            assert.are.equal("7", snap.version)
            assert.is_false(snap.in_sync)
            local by_name = {}
            local order = {}
            for i, entry in ipairs(snap.services) do
                by_name[entry[1]] = entry[2]
                order[i] = entry[1]
            end
            assert.are.same({ "a1", "b2", "batch", "c3", "shop-web-1", "shop-web-2", "shop/web", "web" }, order)
            assert.are.same({
                { "127.0.0.1:8081", "NOT_SERVING", "shop-web-1" },
                { "127.0.0.1:8082", "SERVING", "shop-web-2" },
            }, by_name.web)
            -- Known, but nothing to send traffic to.
            assert.are.same({}, by_name.batch)
            -- Removed: not even known.
            assert.is_nil(by_name["old-web"])
        end)

        it("refuses a container whose fields have the wrong types", function()
            local snap, err = snapshot.from_containers('{"containers": [{"names": ["a"], "services": ["a", 1]}]}')
            assert.is_nil(snap)
            assert.are.equal("GET /v1/containers: containers[1].services[2] is not a string", err)
            snap, err = snapshot.from_containers('{"containers": [{"names": ["a"], "upstream": 80}]}')
            assert.is_nil(snap)
            assert.are.equal("GET /v1/containers: containers[1].upstream is not a string", err)
        end)
    end)

    describe("encode", function()
        it("gives equal strings for equal content, whatever the version or input order", function()
            local a = assert(snapshot.from_services(
                '{"version": "1", "services": [{"name": "b", "status": "SERVING"}, {"name": "a"}]}'))
            local b = assert(snapshot.from_services(
                '{"version": "2", "services": [{"name": "a", "status": "UNKNOWN"},'
                .. ' {"name": "b", "status": "SERVING"}]}'))
            assert.are.equal(snapshot.encode(a), snapshot.encode(b))
            local c = assert(snapshot.from_services('{"version": "3", "services": [{"name": "a"}]}'))
            assert.are_not.equal(snapshot.encode(a), snapshot.encode(c))
        end)

        it("round-trips through decode", function()
            local snap = assert(snapshot.from_containers(CONTAINERS))
            local doc = assert(snapshot.decode(snapshot.encode(snap)))
            assert.are.same(snap.services, doc.services)
            assert.is_nil(snapshot.decode("{"))
        end)
    end)
end)
