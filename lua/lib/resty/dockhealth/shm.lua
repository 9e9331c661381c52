-- Checked writes to a lua_shared_dict: every failure is logged, and so is every write that had to
-- evict other entries (the dict is too small). Callers get true or false.

local ngx = ngx
local ngx_log = ngx.log
local ERR = ngx.ERR
local WARN = ngx.WARN

local _M = { _VERSION = "0.1.0" }

local function report(op, key, err, forcible)
    if err then
        ngx_log(ERR, "dockhealth: cannot ", op, " ", key, " in the shared dict: ", err)
    elseif forcible then
        ngx_log(WARN, "dockhealth: the shared dict is full: writing ", key,
            " evicted other entries; give lua_shared_dict more memory")
    end
end

--- dict:set(key, value, ttl), checked.
function _M.set(dict, key, value, ttl)
    local ok, err, forcible = dict:set(key, value, ttl or 0)
    report("set", key, not ok and (err or "unknown error"), forcible)
    return ok and true or false
end

--- dict:delete(key), checked.
function _M.delete(dict, key)
    local ok, err = dict:delete(key)
    report("delete", key, not ok and (err or "unknown error"))
    return ok and true or false
end

--- dict:incr(key, 1, 0): the new value, or nil.
function _M.bump(dict, key)
    local value, err, forcible = dict:incr(key, 1, 0)
    report("increment", key, not value and (err or "unknown error"), forcible)
    return value
end

return _M
