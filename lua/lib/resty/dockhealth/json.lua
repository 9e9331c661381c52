-- Deterministic JSON encoding. Object keys are sorted, so equal data always encodes to the same
-- string: the poller compares encodings to tell a real change from a new version number, and the
-- status handler's output is stable. Arrays are tables marked with json.array() or with a
-- non-empty sequence; an empty array must be marked, as Debian's lua-cjson 2.1.0 has no
-- empty_array of its own. Decoding is left to cjson.

local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local setmetatable = setmetatable
local getmetatable = getmetatable
local error = error
local concat = table.concat
local sort = table.sort
local format = string.format
local gsub = string.gsub
local byte = string.byte
local math_huge = math.huge

local _M = { _VERSION = "0.1.0" }

local array_mt = {}
local raw_mt = {}

-- cjson's null, when cjson is loaded: encoded as null like nil.
local ok_cjson, cjson = pcall(require, "cjson")
local cjson_null = ok_cjson and cjson.null or nil

--- Marks t (or a new table) as a JSON array, so that it encodes as [] even when empty.
function _M.array(t)
    return setmetatable(t or {}, array_mt)
end

--- Wraps a string that is JSON already, to be written as it is.
function _M.raw(s)
    return setmetatable({ s }, raw_mt)
end

local escapes = {
    ['"'] = '\\"',
    ['\\'] = '\\\\',
    ['\b'] = '\\b',
    ['\f'] = '\\f',
    ['\n'] = '\\n',
    ['\r'] = '\\r',
    ['\t'] = '\\t',
}

local function escape_char(c)
    return escapes[c] or format("\\u%04x", byte(c))
end

local function encode_string(s)
    return '"' .. gsub(s, '[%c"\\]', escape_char) .. '"'
end

local encode_value

local function is_array(t)
    if getmetatable(t) == array_mt then
        return true
    end
    return t[1] ~= nil
end

local function encode_table(t, depth)
    if depth > 32 then
        error("json: nested too deep")
    end
    local parts = {}
    if is_array(t) then
        local n = #t
        for i = 1, n do
            parts[i] = encode_value(t[i], depth + 1)
        end
        for k in pairs(t) do
            if type(k) ~= "number" or k < 1 or k > n or k % 1 ~= 0 then
                error("json: an array with a non-index key " .. tostring(k))
            end
        end
        return "[" .. concat(parts, ",") .. "]"
    end
    local keys = {}
    for k in pairs(t) do
        if type(k) ~= "string" then
            error("json: an object key that is not a string: " .. tostring(k))
        end
        keys[#keys + 1] = k
    end
    sort(keys)
    for i, k in ipairs(keys) do
        parts[i] = encode_string(k) .. ":" .. encode_value(t[k], depth + 1)
    end
    return "{" .. concat(parts, ",") .. "}"
end

encode_value = function(v, depth)
    local tv = type(v)
    if tv == "string" then
        return encode_string(v)
    elseif tv == "number" then
        if v ~= v or v == math_huge or v == -math_huge then
            return "null"
        end
        if v % 1 == 0 and v > -1e15 and v < 1e15 then
            return format("%d", v)
        end
        return format("%.14g", v)
    elseif tv == "boolean" then
        return v and "true" or "false"
    elseif v == nil or v == cjson_null then
        return "null"
    elseif tv == "table" then
        if getmetatable(v) == raw_mt then
            return v[1]
        end
        return encode_table(v, depth)
    end
    error("json: cannot encode a " .. tv)
end

--- Encodes a value of strings, numbers, booleans, nil and tables. Raises on anything else (a
-- bug in the caller: the module only encodes its own data).
function _M.encode(v)
    return encode_value(v, 0)
end

return _M
