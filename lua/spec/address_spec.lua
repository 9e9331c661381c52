local address = require "resty.dockhealth.address"

describe("resty.dockhealth.address", function()
    describe("parse", function()
        it("takes IPv4 and bracketed IPv6 addresses with a port", function()
            assert.are.same({ "10.0.0.1", 80 }, { address.parse("10.0.0.1:80") })
            -- Brackets kept: set_current_peer and tcpsock:connect need them.
            assert.are.same({ "[::1]", 8080 }, { address.parse("[::1]:8080") })
        end)

        it("refuses names, bad octets, bad ports and anything else", function()
            for _, bad in ipairs({ "web:80", "10.0.0.1", "10.0.0.256:80", "10.0.0.1:0", "10.0.0.1:65536",
                "::1:80", "10.0.0.1:80x", "", 80 }) do
                local host, err = address.parse(bad)
                assert.is_nil(host, tostring(bad))
                assert.truthy(err, tostring(bad))
            end
        end)
    end)

    describe("parse_ip", function()
        it("takes an IPv4 address, and an IPv6 one with or without brackets, giving parse's form", function()
            assert.are.equal("10.0.0.11", address.parse_ip("10.0.0.11"))
            assert.are.equal("[::1]", address.parse_ip("::1"))
            assert.are.equal("[fe80::1]", address.parse_ip("[fe80::1]"))
        end)

        it("refuses names, ports and bad octets", function()
            for _, bad in ipairs({ "host-1", "10.0.0.11:80", "10.0.0.300", "", "[::1]:80", 10 }) do
                local host, err = address.parse_ip(bad)
                assert.is_nil(host, tostring(bad))
                assert.are.equal(type(bad) == "string" and "expected an IP address such as 10.0.0.1 or ::1"
                    or "not a string", err)
            end
        end)
    end)

    describe("parse_unix", function()
        it("takes ngx_lua's form and the sidecar flag's, giving ngx_lua's", function()
            assert.are.equal("unix:/run/dockhealth/http.sock", address.parse_unix("unix:/run/dockhealth/http.sock"))
            assert.are.equal("unix:/run/dockhealth/http.sock", address.parse_unix("unix:///run/dockhealth/http.sock"))
        end)

        it("refuses relative paths, directories, colons, spaces and anything else", function()
            for _, bad in ipairs({ "unix:run/http.sock", "unix://run/http.sock", "unix:/run/", "unix:/run/a:b",
                "unix:/run/a b", "unix:/run/a\nb", "unix:", "/run/http.sock", "unix:/" }) do
                local host, err = address.parse_unix(bad)
                assert.is_nil(host, bad)
                assert.are.equal("expected an absolute path to a socket such as unix:/run/dockhealth/http.sock", err)
            end
            assert.are.same({ nil, "not a string" }, { address.parse_unix(4246) })
        end)

        it("takes paths that fit a socket address, 107 bytes", function()
            local fits = "/" .. string.rep("s", 106)
            assert.are.equal("unix:" .. fits, address.parse_unix("unix:" .. fits))
            assert.are.same({ nil, "a socket path of 108 bytes (expected: at most 107)" },
                { address.parse_unix("unix:" .. fits .. "s") })
        end)
    end)
end)
