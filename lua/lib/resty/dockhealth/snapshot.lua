-- What a sidecar's answer means to the balancer, in a compact form that the poller stores in the
-- shared dict and every worker decodes when the dict's version moves.
--
-- The sidecar speaks proto3 JSON of dockhealth.v1 (see proto/src/main/proto/dockhealth/v1):
-- field names in lowerCamelCase, int64 fields such as `version` as strings, enums by name, and
-- fields at their default value possibly left out (a missing `status` is UNKNOWN, a missing
-- `name` is "", a missing list is empty).
--
-- A snapshot is { version = "12", in_sync = true, services = { { name, entry }, ... } }, sorted
-- by name so that equal content encodes to the same string (see encode):
--   hosts topology: entry is the service's status, such as "SERVING";
--   local and cluster topologies: entry is the list of its containers that have an upstream,
--     each { upstream, serving_status, container_name }, sorted by name then upstream.

local cjson = require "cjson.safe"
local json = require "resty.dockhealth.json"

local type = type
local ipairs = ipairs
local next = next
local tostring = tostring
local sort = table.sort
local format = string.format
local find = string.find

local _M = { _VERSION = "0.1.0" }

local null = cjson.null

local function absent(v)
    return v == nil or v == null
end

-- A proto3 JSON int64: a string of digits (or a number, from a lenient printer); absent is 0.
local function int64(v, what)
    if absent(v) then
        return "0"
    end
    if type(v) == "number" and v >= 0 and v % 1 == 0 then
        return format("%d", v)
    end
    if type(v) == "string" and find(v, "^%d+$") and #v <= 19 then
        return v
    end
    return nil, what .. " is not a whole number: " .. tostring(v)
end

local function list(v, what)
    if absent(v) then
        return {}
    end
    -- cjson decodes objects and arrays alike to tables: an object has keys but no [1].
    if type(v) ~= "table" or (next(v) ~= nil and v[1] == nil) then
        return nil, what .. " is not a list"
    end
    return v
end

local function string_field(v, what)
    if absent(v) then
        return ""
    end
    if type(v) ~= "string" then
        return nil, what .. " is not a string"
    end
    return v
end

local function enum(v, what)
    if absent(v) then
        return "UNKNOWN"
    end
    if type(v) == "string" then
        return v
    end
    if type(v) == "number" then
        -- An enum value this printer had no name for.
        return tostring(v)
    end
    return nil, what .. " is not an enum name"
end

local function decode_object(body, what)
    if type(body) ~= "string" then
        return nil, what .. ": no body"
    end
    local doc, err = cjson.decode(body)
    if doc == nil then
        return nil, what .. ": bad JSON: " .. tostring(err)
    end
    if type(doc) ~= "table" or doc[1] ~= nil then
        return nil, what .. ": not a JSON object"
    end
    return doc
end

local function by_name(a, b)
    return a[1] < b[1]
end

--- The hosts topology's snapshot from a ListServicesResponse (GET /v1/health): every service
-- name but the sidecar's own "" with its status.
function _M.from_services(body)
    local doc, err = decode_object(body, "GET /v1/health")
    if not doc then
        return nil, err
    end
    local version
    version, err = int64(doc.version, "version")
    if not version then
        return nil, "GET /v1/health: " .. err
    end
    local services
    services, err = list(doc.services, "services")
    if not services then
        return nil, "GET /v1/health: " .. err
    end
    local out = {}
    for i, s in ipairs(services) do
        if type(s) ~= "table" then
            return nil, "GET /v1/health: services[" .. i .. "] is not an object"
        end
        local name, status
        name, err = string_field(s.name, "services[" .. i .. "].name")
        if not name then
            return nil, "GET /v1/health: " .. err
        end
        status, err = enum(s.status, "services[" .. i .. "].status")
        if not status then
            return nil, "GET /v1/health: " .. err
        end
        if name ~= "" then
            out[#out + 1] = { name, status }
        end
    end
    sort(out, by_name)
    return { version = version, in_sync = doc.inSync == true, services = out }
end

local function by_member(a, b)
    if a[3] ~= b[3] then
        return a[3] < b[3]
    end
    return a[1] < b[1]
end

--- The local and cluster topologies' snapshot from a ListContainersResponse (GET /v1/containers): for every
-- service name a container answers to, the containers with an upstream ("host:port"). A removed
-- container is left out; a container without an upstream still makes its names known.
function _M.from_containers(body)
    local doc, err = decode_object(body, "GET /v1/containers")
    if not doc then
        return nil, err
    end
    local version
    version, err = int64(doc.version, "version")
    if not version then
        return nil, "GET /v1/containers: " .. err
    end
    local containers
    containers, err = list(doc.containers, "containers")
    if not containers then
        return nil, "GET /v1/containers: " .. err
    end
    local members = {} -- name -> list of members
    local out = {}
    for i, c in ipairs(containers) do
        local what = "containers[" .. i .. "]"
        if type(c) ~= "table" then
            return nil, "GET /v1/containers: " .. what .. " is not an object"
        end
        if c.removed ~= true then
            local names, services, upstream, status
            names, err = list(c.names, what .. ".names")
            if names then
                services, err = list(c.services, what .. ".services")
            end
            if services then
                upstream, err = string_field(c.upstream, what .. ".upstream")
            end
            if upstream then
                status, err = enum(c.servingStatus, what .. ".servingStatus")
            end
            if not status then
                return nil, "GET /v1/containers: " .. err
            end
            local container_name = names[1]
            if type(container_name) ~= "string" then
                container_name = string_field(c.id, what .. ".id") or ""
            end
            local member
            if upstream ~= "" then
                member = { upstream, status, container_name }
            end
            for j, name in ipairs(services) do
                if type(name) ~= "string" then
                    return nil, "GET /v1/containers: " .. what .. ".services[" .. j .. "] is not a string"
                end
                if name ~= "" then
                    local m = members[name]
                    if not m then
                        m = json.array()
                        members[name] = m
                        out[#out + 1] = { name, m }
                    end
                    if member then
                        m[#m + 1] = member
                    end
                end
            end
        end
    end
    for _, entry in ipairs(out) do
        sort(entry[2], by_member)
    end
    sort(out, by_name)
    return { version = version, in_sync = doc.inSync == true, services = out }
end

--- The stored form of a snapshot's content, without its version: equal content, equal string.
function _M.encode(snap)
    return json.encode({ in_sync = snap.in_sync, services = json.array(snap.services) })
end

--- The content stored by encode, or nil and an error.
function _M.decode(data)
    local doc, err = cjson.decode(data)
    if type(doc) ~= "table" or type(doc.services) ~= "table" then
        return nil, "stored snapshot is unreadable: " .. tostring(err or "not an object")
    end
    return doc
end

return _M
