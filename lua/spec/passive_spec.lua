local fake = require("fake_ngx").install()
local passive = require "resty.dockhealth.passive"

describe("resty.dockhealth.passive", function()
    local dict, inst, web1, web2

    before_each(function()
        fake.reset()
        dict = fake.dict("d")
        inst = { dict = dict, prefix = "dockhealth:i:", max_fails = 2, fail_timeout = 10 }
        function inst.log(_, level, ...)
            ngx.log(level, "dockhealth i: ", ...)
        end
        web1 = { addr = "10.0.0.1:80", name = "web-1" }
        web2 = { addr = "10.0.0.2:80" }
    end)

    it("skips a peer after max_fails failures within fail_timeout, for fail_timeout", function()
        local p = passive.new(inst)
        p:failed(web1, 1000)
        assert.are.same({}, p.down)
        p:failed(web1, 1009)
        assert.are.same({ [web1.addr] = 1019 }, p.down)
        assert.are.same({ [web1.addr] = 10 }, p:skipped(1009))
        assert.are.same({}, p:skipped(1019))
        assert.are.same({ "dockhealth i: peer 10.0.0.1:80 (web-1) failed 2 time(s) within 10 s: skipped for 10 s" },
            fake.logged("skipped for"))
    end)

    it("forgets failures older than fail_timeout", function()
        local p = passive.new(inst)
        p:failed(web1, 1000)
        fake.clock.now = 1010
        p:failed(web1, 1010)
        assert.are.same({}, p.down)
    end)

    it("starts the count over once the peer is back", function()
        local p = passive.new(inst)
        p:failed(web1, 1000)
        p:failed(web1, 1000)
        fake.clock.now = 1010
        p:failed(web1, 1010)
        assert.are.equal(1010, p.down[web1.addr])
        p:failed(web1, 1010)
        assert.are.equal(1020, p.down[web1.addr])
    end)

    it("shares what one worker saw with the others through the dict", function()
        local worker1, worker2 = passive.new(inst), passive.new(inst)
        local addrs = { [web1.addr] = true, [web2.addr] = true }
        assert.is_true(worker2:sync(addrs))
        assert.is_false(worker2:sync(addrs))
        worker1:failed(web1, 1000)
        worker1:failed(web1, 1000)
        assert.is_true(worker2:sync(addrs))
        assert.are.same({ [web1.addr] = 1010 }, worker2.down)
        -- The dict forgets the mark when it runs out.
        fake.clock.now = 1010
        assert.is_true(worker2:sync(addrs, true))
        assert.are.same({}, worker2.down)
    end)

    it("does nothing with max_fails 0", function()
        inst.max_fails = 0
        local p = passive.new(inst)
        for _ = 1, 5 do
            p:failed(web1, 1000)
        end
        assert.are.same({}, p.down)
        assert.is_false(p:sync({ [web1.addr] = true }, true))
        assert.is_nil(dict:get("dockhealth:i:passive:fails:" .. web1.addr))
    end)
end)
