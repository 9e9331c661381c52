-- The poller: keeps each sidecar's snapshot in the shared dict, off the request path.
--
-- Every worker runs one timer per sidecar, but only the worker holding that sidecar's lock
-- (dict:add with a TTL, refreshed on every round) talks to it: a long-poll of
-- GET /v1/health?since=V&wait=..., which the sidecar answers as soon as its model changes (200)
-- or when the wait is over (304). The local topology then reads GET /v1/containers, which has
-- the upstream address of each container. A changed snapshot is written to the dict and the
-- instance's generation counter is bumped, so workers rebuild their views only on change.
--
-- A failing sidecar is retried with exponential backoff; its last snapshot stays in the dict,
-- and fail_since tells the views when to stop trusting it (stale_after). The holder renews its
-- locks from the refresh timer (renew), so a long-poll may outlast the lock's short TTL; a
-- worker that dies loses its locks within that TTL, one that exits (reload, shutdown) lets go of
-- them, or stops renewing them, at once.

local http = require "resty.dockhealth.http"
local snapshot = require "resty.dockhealth.snapshot"
local shm = require "resty.dockhealth.shm"

local ngx = ngx
local ngx_log = ngx.log
local ngx_now = ngx.now
local update_time = ngx.update_time
local timer_at = ngx.timer.at
local worker_exiting = ngx.worker.exiting
local worker_pid = ngx.worker.pid
local ERR = ngx.ERR
local WARN = ngx.WARN
local NOTICE = ngx.NOTICE
local INFO = ngx.INFO
local pcall = pcall
local ipairs = ipairs
local tostring = tostring
local min = math.min
local floor = math.floor
local sub = string.sub

local _M = { _VERSION = "0.1.0" }

local function snippet(body)
    body = tostring(body or "")
    if #body > 200 then
        body = sub(body, 1, 200) .. "..."
    end
    return (body:gsub("%s+", " "))
end

local function get(inst, sc, path, read_timeout)
    local res, err = http.get({
        host = sc.host,
        port = sc.port,
        host_header = sc.addr,
        path = path,
        connect_timeout = inst.timeout_ms,
        send_timeout = inst.timeout_ms,
        read_timeout = read_timeout,
        max_body = inst.max_body,
        -- Under the gateway's 90 s idle timeout, so the gateway never closes a pooled connection
        -- under a request we are sending.
        keepalive_timeout = 60000,
        keepalive_size = 2,
        pool = "dockhealth:" .. sc.addr,
    })
    if not res then
        return nil, "GET " .. path .. ": " .. err
    end
    return res
end

local function containers(inst, sc)
    local res, err = get(inst, sc, "/v1/containers", inst.timeout_ms)
    if not res then
        return nil, err
    end
    if res.status ~= 200 then
        return nil, "GET /v1/containers answered " .. res.status .. ": " .. snippet(res.body)
    end
    return snapshot.from_containers(res.body)
end

-- One exchange: a snapshot, "unchanged", or nil and an error. Without since, the current state
-- at once; with it, a long-poll that waits for a version other than since.
local function fetch(inst, sc, since)
    if inst.topology == "local" and not since then
        return containers(inst, sc)
    end
    local path, read_timeout = "/v1/health", inst.timeout_ms
    if since then
        path = "/v1/health?since=" .. since .. "&wait=" .. inst.wait_ms .. "ms"
        read_timeout = inst.wait_ms + inst.timeout_ms
    end
    local res, err = get(inst, sc, path, read_timeout)
    if not res then
        return nil, err
    end
    if res.status == 304 and since then
        return "unchanged"
    end
    if res.status ~= 200 then
        return nil, "GET " .. path .. " answered " .. res.status .. ": " .. snippet(res.body)
    end
    if inst.topology == "hosts" then
        return snapshot.from_services(res.body)
    end
    -- The health answer only said that something changed; the containers carry the addresses.
    return containers(inst, sc)
end

local function backoff(inst, failures)
    return min(inst.backoff_max, inst.backoff_min * 2 ^ (failures - 1))
end

local function failed(inst, sc, st, err, now)
    local dict, keys = inst.dict, sc.keys
    st.failures = st.failures + 1
    st.resync = true
    shm.set(dict, keys.err, err)
    shm.set(dict, keys.err_at, now)
    if not dict:get(keys.fail_since) then
        if shm.set(dict, keys.fail_since, now) then
            shm.bump(dict, inst.keys.gen)
        end
        ngx_log(WARN, "dockhealth ", inst.name, ": sidecar ", sc.addr, " failed: ", err,
            "; its last snapshot counts for ", inst.stale_after, " s more; retrying with backoff")
    else
        ngx_log(INFO, "dockhealth ", inst.name, ": sidecar ", sc.addr, " still fails: ", err)
    end
    return backoff(inst, st.failures)
end

-- One round: take or keep the lock, talk to the sidecar, store what it said. Returns the delay
-- before the next round.
local function round(inst, sc, st)
    local dict, keys = inst.dict, sc.keys
    if not st.holding then
        local ok, err = dict:add(keys.lock, st.token, inst.lock_ttl)
        if not ok then
            if err ~= "exists" then
                ngx_log(ERR, "dockhealth ", inst.name, ": cannot take the poll lock of sidecar ", sc.addr,
                    ": ", err)
            end
            return inst.lock_retry
        end
        st.holding = true
        st.renewed_at = ngx_now()
        st.resync = true
        ngx_log(INFO, "dockhealth ", inst.name, ": this worker now polls sidecar ", sc.addr)
    elseif dict:get(keys.lock) ~= st.token then
        -- The lock ran out (this worker was too busy to renew it): another worker has it.
        st.holding = false
        ngx_log(WARN, "dockhealth ", inst.name, ": lost the poll lock of sidecar ", sc.addr,
            " to another worker")
        return inst.lock_retry
    elseif shm.set(dict, keys.lock, st.token, inst.lock_ttl) then
        st.renewed_at = ngx_now()
    end

    local since = not st.resync and dict:get(keys.version) or nil
    local snap, err = fetch(inst, sc, since)
    update_time()
    local now = ngx_now()
    if not snap then
        return failed(inst, sc, st, err, now)
    end

    local changed = false
    if snap ~= "unchanged" then
        local data = snapshot.encode(snap)
        if dict:get(keys.data) ~= data then
            if not shm.set(dict, keys.data, data) then
                return failed(inst, sc, st, "cannot store the snapshot in the shared dict", now)
            end
            changed = true
        end
        if not shm.set(dict, keys.version, snap.version) then
            return failed(inst, sc, st, "cannot store the version in the shared dict", now)
        end
    end
    shm.set(dict, keys.ok_at, now)
    local fail_since = dict:get(keys.fail_since)
    if fail_since then
        shm.delete(dict, keys.fail_since)
        changed = true
        ngx_log(NOTICE, "dockhealth ", inst.name, ": sidecar ", sc.addr, " answers again after ",
            floor((now - fail_since) * 1000 + 0.5) / 1000, " s")
    end
    if changed then
        shm.bump(dict, inst.keys.gen)
    end
    st.failures = 0
    st.resync = false
    return 0
end

local function release(inst, sc, st)
    if st.holding then
        st.holding = false
        if inst.dict:get(sc.keys.lock) == st.token then
            shm.delete(inst.dict, sc.keys.lock)
        end
    end
end

local arm

local function poll(premature, inst, sc, st)
    st.armed = false
    if premature or worker_exiting() then
        return release(inst, sc, st)
    end
    st.running = true
    local ok, delay = pcall(round, inst, sc, st)
    st.running = false
    if not ok then
        st.failures = st.failures + 1
        st.resync = true
        ngx_log(ERR, "dockhealth ", inst.name, ": polling sidecar ", sc.addr, " raised: ", delay,
            "; retrying")
        delay = backoff(inst, st.failures)
    end
    if worker_exiting() then
        return release(inst, sc, st)
    end
    arm(inst, sc, st, delay)
end

arm = function(inst, sc, st, delay)
    local ok, err = timer_at(delay, poll, inst, sc, st)
    if not ok then
        -- Let another worker poll meanwhile; tick() tries again on the next refresh.
        release(inst, sc, st)
        if not worker_exiting() then
            ngx_log(ERR, "dockhealth ", inst.name, ": cannot schedule the next poll of sidecar ", sc.addr,
                ": ", err)
        end
        return false
    end
    st.armed = true
    return true
end

--- Starts this worker's pollers of inst's sidecars (from init_worker).
function _M.start(inst)
    inst.pollers = {}
    for _, sc in ipairs(inst.sidecars) do
        local st = {
            token = tostring(worker_pid()),
            holding = false,
            resync = true,
            failures = 0,
            armed = false,
            running = false,
            renewed_at = 0,
        }
        inst.pollers[sc.addr] = st
        arm(inst, sc, st, 0)
    end
end

--- From the refresh timer: renews the poll locks this worker holds, and re-arms any poller
-- whose timer could not be scheduled.
function _M.tick(inst, now)
    if not inst.pollers or worker_exiting() then
        return
    end
    local dict = inst.dict
    for _, sc in ipairs(inst.sidecars) do
        local st = inst.pollers[sc.addr]
        if st.holding and now - st.renewed_at >= inst.lock_renew then
            if dict:get(sc.keys.lock) == st.token then
                shm.set(dict, sc.keys.lock, st.token, inst.lock_ttl)
                st.renewed_at = now
            else
                st.holding = false
                ngx_log(WARN, "dockhealth ", inst.name, ": lost the poll lock of sidecar ", sc.addr,
                    " to another worker")
            end
        end
        if not st.armed and not st.running then
            arm(inst, sc, st, 0)
        end
    end
end

return _M
