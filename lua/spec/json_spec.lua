local json = require "resty.dockhealth.json"

describe("resty.dockhealth.json", function()
    it("sorts object keys, so equal data encodes to equal strings", function()
        assert.are.equal('{"a":1,"b":{"c":true,"d":false},"z":"x"}',
            json.encode({ z = "x", a = 1, b = { d = false, c = true } }))
    end)

    it("writes sequences as arrays and a marked empty table as []", function()
        assert.are.equal('[1,"two",[]]', json.encode({ 1, "two", json.array() }))
        assert.are.equal('{}', json.encode({}))
    end)

    it("escapes quotes, backslashes and control characters", function()
        assert.are.equal('"a\\"b\\\\c\\n\\t\\u0001\\u007f"', json.encode('a"b\\c\n\t\1\127'))
    end)

    it("writes whole numbers without a fraction and others with up to 14 digits", function()
        assert.are.equal('[12,-3,0.25,1795430538.407]', json.encode({ 12, -3, 0.25, 1795430538.407 }))
        assert.are.equal('[null,null]', json.encode(json.array({ 0 / 0, math.huge })))
    end)

    it("writes raw JSON as it is", function()
        assert.are.equal('{"v":{"x":[]}}', json.encode({ v = json.raw('{"x":[]}') }))
    end)

    it("refuses what JSON cannot hold", function()
        assert.has_error(function() json.encode({ f = print }) end, "json: cannot encode a function")
        assert.has_error(function() json.encode({ [true] = 1 }) end,
            "json: an object key that is not a string: true")
        assert.has_error(function() json.encode({ 1, 2, x = 3 }) end, "json: an array with a non-index key x")
    end)
end)
