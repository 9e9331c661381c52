-- A hand-written fake of the parts of ngx that the modules use, for the specs on plain Lua 5.1:
-- a clock the spec moves, shared dicts whose TTLs follow that clock, log lines kept for
-- assertions, and timers recorded (never run). install() must run before the modules are required,
-- as they keep ngx's functions in locals.

local M = {}

local function new_dict(clock)
    local data, expires = {}, {}
    local d = {}
    local function live(key)
        if expires[key] and expires[key] <= clock.now then
            data[key], expires[key] = nil, nil
        end
        return data[key]
    end
    function d.get(_, key)
        return live(key)
    end
    function d.set(_, key, value, ttl)
        data[key] = value
        expires[key] = (ttl and ttl > 0) and clock.now + ttl or nil
        return true, nil, false
    end
    function d.add(self, key, value, ttl)
        if live(key) ~= nil then
            return false, "exists"
        end
        return self:set(key, value, ttl)
    end
    function d.delete(_, key)
        data[key], expires[key] = nil, nil
        return true
    end
    function d.incr(self, key, value, init, init_ttl)
        local current = live(key)
        if current == nil then
            if init == nil then
                return nil, "not found"
            end
            self:set(key, init + value, init_ttl)
            return init + value
        end
        data[key] = current + value
        return current + value
    end
    function d.ttl_of(_, key)
        return expires[key] and expires[key] - clock.now
    end
    return d
end

--- Installs the fake as the global ngx; returns it, with clock (set .now), logs, timers, and
-- reset() to start a test afresh.
function M.install()
    local fake = { clock = { now = 1000 }, logs = {}, timers = {} }
    local shared = {}
    fake.shared = shared
    _G.ngx = {
        ERR = 4, WARN = 5, NOTICE = 6, INFO = 7, DEBUG = 8,
        HTTP_OK = 200, ERROR = -1,
        log = function(level, ...)
            local parts = {}
            for i = 1, select("#", ...) do
                parts[i] = tostring((select(i, ...)))
            end
            fake.logs[#fake.logs + 1] = { level = level, text = table.concat(parts) }
        end,
        now = function()
            return fake.clock.now
        end,
        update_time = function() end,
        shared = shared,
        worker = {
            id = function() return 0 end,
            pid = function() return 4242 end,
            count = function() return 1 end,
            exiting = function() return false end,
        },
        timer = {
            at = function(delay, f, ...)
                fake.timers[#fake.timers + 1] = { delay = delay, f = f, args = { ... } }
                return true
            end,
            every = function() return true end,
        },
        socket = {
            tcp = function() error("no sockets in the specs") end,
        },
    }
    function fake.reset()
        fake.clock.now = 1000
        for name in pairs(shared) do
            shared[name] = new_dict(fake.clock)
        end
        for i = #fake.logs, 1, -1 do
            fake.logs[i] = nil
        end
        for i = #fake.timers, 1, -1 do
            fake.timers[i] = nil
        end
    end
    function fake.dict(name)
        shared[name] = new_dict(fake.clock)
        return shared[name]
    end
    --- The log lines so far that contain text.
    function fake.logged(text)
        local out = {}
        for _, l in ipairs(fake.logs) do
            if l.text:find(text, 1, true) then
                out[#out + 1] = l.text
            end
        end
        return out
    end
    return fake
end

return M
