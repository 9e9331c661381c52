local picker = require "resty.dockhealth.picker"

local function peers(...)
    local list = {}
    for i, w in ipairs({ ... }) do
        list[i] = { addr = "10.0.0." .. i .. ":80", weight = w }
    end
    return list
end

local function picks(c, n, tried)
    local out = {}
    for i = 1, n do
        local p = picker.pick(c, tried)
        out[i] = p and p.addr:match("%.(%d+):") or "-"
    end
    return table.concat(out, " ")
end

describe("resty.dockhealth.picker", function()
    it("goes round the peers in order, starting after the offset", function()
        assert.are.equal("1 2 3 1 2 3", picks(picker.cursor(peers(1, 1, 1), 0), 6))
        assert.are.equal("2 3 1 2", picks(picker.cursor(peers(1, 1, 1), 1), 4))
        assert.are.equal("3 1", picks(picker.cursor(peers(1, 1, 1), 5), 2))
    end)

    it("skips tried peers and gives nil once every peer is tried", function()
        local c = picker.cursor(peers(1, 1, 1), 0)
        local tried = { ["10.0.0.2:80"] = true }
        assert.are.equal("1 3 1", picks(c, 3, tried))
        tried["10.0.0.1:80"] = true
        tried["10.0.0.3:80"] = true
        assert.is_nil(picker.pick(c, tried))
        assert.are.equal(0, picker.untried(c, tried))
        assert.are.equal(3, picker.untried(c, {}))
    end)

    it("spreads by weight smoothly, as nginx's round-robin does", function()
        -- nginx's documented sequence for weights 5, 1, 1: a a b a c a a.
        assert.are.equal("1 1 2 1 3 1 1 1 1 2 1 3 1 1", picks(picker.cursor(peers(5, 1, 1), 0), 14))
    end)

    it("skips tried peers when weighted too", function()
        local c = picker.cursor(peers(5, 1, 1), 0)
        assert.are.equal("2 3 2 3", picks(c, 4, { ["10.0.0.1:80"] = true }))
    end)

    it("advances a weighted cursor by the offset", function()
        assert.are.equal("1 2 1 3", picks(picker.cursor(peers(5, 1, 1), 1), 4))
    end)

    it("gives nil for an empty list", function()
        assert.is_nil(picker.pick(picker.cursor({}, 3)))
    end)
end)
