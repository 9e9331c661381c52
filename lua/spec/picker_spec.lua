local picker = require "resty.dockhealth.picker"

local function peers(...)
    local list = {}
    for i, w in ipairs({ ... }) do
        list[i] = { addr = "10.0.0." .. i .. ":80", weight = w }
    end
    return list
end

local function short(p)
    return p and p.addr:match("%.(%d+):") or "-"
end

-- n first picks, as n requests each make one.
local function picks(c, n, down, now)
    local out = {}
    for i = 1, n do
        out[i] = short((picker.pick(c, down, now)))
    end
    return table.concat(out, " ")
end

local function addr(i)
    return "10.0.0." .. i .. ":80"
end

-- A request's first pick, then its retries until none is left: the peers in the order tried.
local function tries(c, down, now)
    local p, i = picker.pick(c, down, now)
    local tried, order = {}, {}
    repeat
        tried[p.addr] = true
        order[#order + 1] = short(p)
        p = picker.retry(c, i, tried, down, now)
    until not p
    return table.concat(order, " ")
end

describe("resty.dockhealth.picker", function()
    it("goes round the peers in order, starting after the offset", function()
        assert.are.equal("1 2 3 1 2 3", picks(picker.cursor(peers(1, 1, 1), 0), 6))
        assert.are.equal("2 3 1 2", picks(picker.cursor(peers(1, 1, 1), 1), 4))
        assert.are.equal("3 1", picks(picker.cursor(peers(1, 1, 1), 5), 2))
    end)

    it("gives the index of the peer it picked", function()
        local c = picker.cursor(peers(1, 1, 1), 1)
        local p, i = picker.pick(c)
        assert.are.equal(addr(2), p.addr)
        assert.are.equal(2, i)
    end)

    it("spreads by weight smoothly, as nginx's round-robin does", function()
        -- nginx's documented sequence for weights 5, 1, 1: a a b a c a a.
        assert.are.equal("1 1 2 1 3 1 1 1 1 2 1 3 1 1", picks(picker.cursor(peers(5, 1, 1), 0), 14))
    end)

    it("advances a weighted cursor by the offset", function()
        assert.are.equal("1 2 1 3", picks(picker.cursor(peers(5, 1, 1), 1), 4))
    end)

    it("gives nil for an empty list", function()
        assert.is_nil(picker.pick(picker.cursor({}, 3)))
    end)

    describe("retries", function()
        it("take the next untried peer after the first pick, in list order", function()
            local c = picker.cursor(peers(1, 1, 1, 1), 1)
            assert.are.equal("2 3 4 1", tries(c))
            assert.are.equal("3 4 1 2", tries(c))
        end)

        it("never move the rotation the next request sees", function()
            -- One refusing peer among two: every request whose first try fails is retried on the
            -- other, and yet the first tries still alternate.
            local c = picker.cursor(peers(1, 1), 0)
            local first = {}
            for n = 1, 6 do
                local p, i = picker.pick(c)
                first[n] = short(p)
                if p.addr == addr(1) then
                    assert.are.equal(addr(2), picker.retry(c, i, { [p.addr] = true }).addr)
                end
            end
            assert.are.equal("1 2 1 2 1 2", table.concat(first, " "))
        end)

        it("do not move a weighted rotation either", function()
            local c = picker.cursor(peers(5, 1, 1), 0)
            local first = {}
            for n = 1, 7 do
                local p, i = picker.pick(c)
                first[n] = short(p)
                picker.retry(c, i, { [p.addr] = true })
            end
            assert.are.equal("1 1 2 1 3 1 1", table.concat(first, " "))
        end)
    end)

    describe("with peers the passive checks skip", function()
        local now = 100

        it("skips a peer that is down until the time it is down for", function()
            local c = picker.cursor(peers(1, 1, 1), 0)
            local down = { [addr(2)] = now + 10 }
            assert.are.equal("1 3 1 3", picks(c, 4, down, now))
            -- Back once its time is over.
            assert.are.equal("1 2 3", picks(c, 3, down, now + 10))
        end)

        it("skips it when weighted too", function()
            local c = picker.cursor(peers(5, 1, 1), 0)
            assert.are.equal("2 3 2 3", picks(c, 4, { [addr(1)] = now + 1 }, now))
        end)

        it("uses every peer in turn when all are down", function()
            local c = picker.cursor(peers(1, 1), 0)
            local down = { [addr(1)] = now + 1, [addr(2)] = now + 1 }
            assert.are.equal("1 2 1", picks(c, 3, down, now))
            c = picker.cursor(peers(2, 1), 0)
            assert.are.equal("1 2 1", picks(c, 3, down, now))
        end)

        it("retries on the peers that are not down first, then on those that are", function()
            local c = picker.cursor(peers(1, 1, 1, 1), 0)
            local down = { [addr(2)] = now + 1 }
            assert.are.equal("1 3 4 2", tries(c, down, now))
        end)
    end)
end)
