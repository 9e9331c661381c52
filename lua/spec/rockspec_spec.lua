-- The rockspec must install every module in lib/ and carry the version the modules report.

local function read(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end

local function lib_files()
    local files = {}
    local p = assert(io.popen("find lib -name '*.lua' | sort"))
    for line in p:lines() do
        files[#files + 1] = line
    end
    p:close()
    return files
end

describe("lua-resty-dockhealth rockspec", function()
    local path = "lua-resty-dockhealth-0.1.0-1.rockspec"
    local spec = {}
    assert(setfenv(assert(loadstring(read(path), path)), spec))()

    it("lists every module file under lib/, by its module name", function()
        local expected = {}
        for _, file in ipairs(lib_files()) do
            expected[file:gsub("^lib/", ""):gsub("%.lua$", ""):gsub("/", ".")] = file
        end
        assert.are.same(expected, spec.build.modules)
    end)

    it("has the version every module reports as _VERSION", function()
        assert.are.equal("0.1.0-1", spec.version)
        for _, file in ipairs(lib_files()) do
            local version = read(file):match('_VERSION = "([^"]+)"')
            assert.are.equal("0.1.0", version, file)
        end
    end)
end)
