-- TLS to the sidecars: the tls options of configure(), checked, and the client certificate for
-- mutual TLS, read once by configure() in init_by_lua. That runs in the master, before the workers
-- fork and inherit what it parsed, so the key file may be readable by root only; nginx reads it
-- again on a reload.
--
--   tls = {
--       server_name = "dockhealth.internal",   -- SNI, and the name the certificate must carry
--       client_cert = "/etc/nginx/dockhealth/client.pem",
--       client_key = "/etc/nginx/dockhealth/client.key",
--   }
--
-- ngx_lua has no CA per socket: tcpsock:sslhandshake checks the sidecar's certificate against the
-- http block's lua_ssl_trusted_certificate (the pollers run in timers, which take the http block's
-- settings), to lua_ssl_verify_depth.

local io_open = io.open
local require = require
local pcall = pcall
local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local sub = string.sub

local _M = { _VERSION = "0.1.0" }

local KEYS = { server_name = true, verify = true, client_cert = true, client_key = true, session_reuse = true }
local KEY_LIST = "server_name, verify, client_cert, client_key or session_reuse"
local EXAMPLE = "{ server_name = \"dockhealth.internal\" }"

-- PEM files larger than this are not certificates or keys.
local MAX_PEM = 1024 * 1024

--- Checks a tls option as configure() got it: the instance's, or a host's, which overrides it.
-- @param t a table, or false (a host's sidecar in plaintext)
-- @tparam string what its name in messages, "tls" or "hosts[2].tls"
-- @treturn[1] bool true
-- @treturn[2] nil
-- @treturn[2] string what is wrong, starting with what
function _M.check(t, what)
    if t == false then
        return true
    end
    if type(t) ~= "table" then
        return nil, what .. ": " .. tostring(t) .. " (expected: a table such as " .. EXAMPLE .. ", or false)"
    end
    for key in pairs(t) do
        if key == "ca" then
            return nil, what .. ": unknown option ca (nginx checks the sidecar's certificate against"
                .. " lua_ssl_trusted_certificate, which goes in the http block)"
        end
        if not KEYS[key] then
            return nil, what .. ": unknown option " .. tostring(key) .. " (expected: " .. KEY_LIST .. ")"
        end
    end
    for _, key in ipairs({ "verify", "session_reuse" }) do
        if t[key] ~= nil and type(t[key]) ~= "boolean" then
            return nil, what .. "." .. key .. ": " .. tostring(t[key]) .. " (expected: true or false)"
        end
    end
    local name = t.server_name
    if name ~= nil and (type(name) ~= "string" or #name > 253 or not name:find("^[%w][%w%-%.]*$")
            or name:find("^[%d%.]+$")) then
        return nil, what .. ".server_name: " .. tostring(name) .. " (expected: a DNS name in the sidecar's"
            .. " certificate, such as dockhealth.internal: nginx checks names, not IP addresses)"
    end
    for _, key in ipairs({ "client_cert", "client_key" }) do
        local path = t[key]
        if path ~= nil and (type(path) ~= "string" or path == "") then
            return nil, what .. "." .. key .. ": " .. tostring(path) .. " (expected: the path of a PEM file)"
        end
    end
    return true
end

--- A host's tls over the instance's: nil for plaintext, else a table of both (the host's keys win).
function _M.merge(base, override)
    if override == false or (override == nil and not base) then
        return nil
    end
    local merged = {}
    for key, value in pairs(base or {}) do
        merged[key] = value
    end
    for key, value in pairs(override or {}) do
        merged[key] = value
    end
    return merged
end

local function read(path)
    local f, err = io_open(path, "rb")
    if not f then
        -- io.open's message starts with the path.
        if sub(err, 1, #path + 2) == path .. ": " then
            err = sub(err, #path + 3)
        end
        return nil, "cannot read it: " .. err
    end
    local pem = f:read(MAX_PEM + 1)
    f:close()
    if not pem or #pem > MAX_PEM then
        return nil, "expected: a PEM file of at most 1 MiB"
    end
    return pem
end

-- Whether key is the private key of the chain's first certificate, asked of OpenSSL through the FFI:
-- true or false, or nil when the FFI or these functions are not there (OpenSSL before 1.1, a build
-- that hides its symbols); the first handshake then says it ("ssl set client private key failed").
local function key_matches(chain, key)
    local ok, ffi = pcall(require, "ffi")
    if not ok then
        return nil
    end
    -- One declaration per call: another library may have declared some of them already.
    pcall(ffi.cdef, "void *OPENSSL_sk_value(const void *stack, int i);")
    pcall(ffi.cdef, "int X509_check_private_key(const void *x509, const void *pkey);")
    pcall(ffi.cdef, "void ERR_clear_error(void);")
    local called, matches = pcall(function()
        local C = ffi.C
        local leaf = C.OPENSSL_sk_value(chain, 0)
        local result = leaf ~= nil and C.X509_check_private_key(leaf, key) == 1
        -- A mismatch leaves its reason on OpenSSL's error queue, where nginx would find it later.
        C.ERR_clear_error()
        return result
    end)
    if not called then
        return nil
    end
    return matches
end

-- The client certificate chain and key, parsed by lua-resty-core's ngx.ssl for
-- tcpsock:setclientcert. Returns them, or nil, the option at fault and what is wrong.
local function identity(cert_path, key_path)
    local cert_pem, err = read(cert_path)
    if not cert_pem then
        return nil, "client_cert", err
    end
    local key_pem
    key_pem, err = read(key_path)
    if not key_pem then
        return nil, "client_key", err
    end
    local found, ssl = pcall(require, "ngx.ssl")
    if not found then
        return nil, "client_cert", "mutual TLS needs lua-resty-core's ngx.ssl, and nginx built with SSL: "
            .. tostring(ssl)
    end
    local chain
    chain, err = ssl.parse_pem_cert(cert_pem)
    if not chain then
        return nil, "client_cert", "expected: a PEM certificate, then any intermediate CA certificates: "
            .. tostring(err)
    end
    local key
    key, err = ssl.parse_pem_priv_key(key_pem)
    if not key then
        return nil, "client_key", "expected: an unencrypted PEM private key: " .. tostring(err)
    end
    if key_matches(chain, key) == false then
        return nil, "client_key", "expected: the private key of client_cert " .. cert_path
    end
    return { chain = chain, key = key }
end

--- The settings the poller connects with, from a merged tls table (checked by check()).
-- @tparam table t the merged options
-- @tparam string what its name in messages
-- @tparam table identities client certificates read so far, by their files (read each pair once)
-- @treturn[1] table { server_name, verify, session_reuse, client_cert (the path), chain, key, id };
--   id tells settings apart (keepalive pools, sidecars listed twice)
-- @treturn[2] nil
-- @treturn[2] string what is wrong, starting with what
function _M.settings(t, what, identities)
    local verify = t.verify ~= false
    if verify and not t.server_name then
        return nil, what .. ".server_name: missing (expected: the DNS name nginx checks in the sidecar's"
            .. " certificate, such as dockhealth.internal, while verify is on)"
    end
    local cert_path, key_path = t.client_cert, t.client_key
    if (cert_path == nil) ~= (key_path == nil) then
        local missing = cert_path and "client_key" or "client_cert"
        return nil, what .. "." .. missing .. ": missing (expected: client_cert and client_key together)"
    end
    local settings = {
        server_name = t.server_name,
        verify = verify,
        session_reuse = t.session_reuse ~= false,
        client_cert = cert_path,
    }
    if cert_path then
        local pair = cert_path .. "\0" .. key_path
        local id = identities[pair]
        if not id then
            local key, err
            id, key, err = identity(cert_path, key_path)
            if not id then
                local path = key == "client_cert" and cert_path or key_path
                return nil, what .. "." .. key .. ": " .. path .. " (" .. err .. ")"
            end
            identities[pair] = id
        end
        settings.chain, settings.key = id.chain, id.key
    end
    settings.id = "tls " .. (settings.server_name or "-") .. (verify and " verify" or " noverify")
        .. (settings.session_reuse and " reuse " or " noreuse ") .. (cert_path or "-")
    return settings
end

return _M
