-- The poller: keeps a sidecar's snapshot in the shared dict, off the request path.
--
-- Every worker has a poller per sidecar, but only the one holding that sidecar's lock (dict:add
-- with a TTL, renewed by the instance's refresh timer) talks to it: GET /v1/health (the hosts
-- topology) or GET /v1/containers (the others, whose answer carries each container's upstream),
-- then long-polls of GET /v1/health?since=V&wait=..., which the sidecar answers as soon as its
-- model changes (200, then the others read the containers again) or when the wait is over (304:
-- the heartbeat that shows it is alive). A snapshot that changed is written to the dict and the
-- instance's generation counter is bumped, so workers rebuild their views only on change.
--
-- Only an answer in sync with Docker is stored. A sidecar that is up but not in sync (just
-- restarted, or cut off from Docker) counts as failing, like one that does not answer; it is
-- long-polled, as its version moves when it is back in sync. Any other failure is retried with
-- exponential backoff. The last snapshot stays in the dict; fail_since and heard_at tell the views
-- when to stop trusting it (see Sidecar:trusted_until). A worker that dies loses its locks within
-- their TTL; one that exits (reload, shutdown) lets go of them at once.

local http = require "resty.dockhealth.http"
local snapshot = require "resty.dockhealth.snapshot"
local shm = require "resty.dockhealth.shm"

local ngx = ngx
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
local setmetatable = setmetatable
local tostring = tostring
local min = math.min
local floor = math.floor
local sub = string.sub

local _M = { _VERSION = "0.1.0" }

local NOT_IN_SYNC = "not in sync with Docker (restarting, or cannot reach it)"

local Poller = {}
local mt = { __index = Poller }

local function snippet(body)
    body = tostring(body or "")
    if #body > 200 then
        body = sub(body, 1, 200) .. "..."
    end
    return (body:gsub("%s+", " "))
end

--- This worker's poller of sidecar sc for inst; start() sets it going.
function _M.new(inst, sc)
    return setmetatable({
        inst = inst,
        sc = sc,
        token = tostring(worker_pid()),
        holding = false,
        renewed_at = 0,
        -- Read the whole state before the next long-poll (after taking the lock, after a failure).
        resync = true,
        -- The version and sync state of the sidecar's last answer.
        since = nil,
        in_sync = false,
        failures = 0,
        -- This worker's last TLS session with the sidecar, offered for resumption by the next new connection.
        tls_session = {},
        armed = false,
        running = false,
    }, mt)
end

function Poller:log(level, ...)
    self.inst:log(level, "sidecar ", self.sc.addr, ": ", ...)
end

function Poller:get(path, read_timeout)
    local inst, endpoint = self.inst, self.sc.endpoint
    local res, err, timed_out = http.get({
        host = endpoint.host,
        port = endpoint.port,
        host_header = endpoint.host_header,
        pool = endpoint.pool,
        tls = endpoint.tls,
        tls_session = self.tls_session,
        path = path,
        connect_timeout = inst.timeout_ms,
        send_timeout = inst.timeout_ms,
        read_timeout = read_timeout,
        max_body = inst.max_body,
        -- Under the gateway's 90 s idle timeout, so the gateway never closes a pooled connection
        -- under a request we are sending.
        keepalive_timeout = 60000,
        keepalive_size = 2,
    })
    if not res then
        return nil, "GET " .. path .. ": " .. err, timed_out
    end
    return res
end

-- Marks that the sidecar answered (anything sound), for the views' silence rule.
function Poller:heard()
    update_time()
    shm.set(self.inst.dict, self.sc.keys.heard_at, ngx_now())
end

function Poller:containers()
    local res, err, timed_out = self:get("/v1/containers", self.inst.timeout_ms)
    if not res then
        return nil, err, timed_out
    end
    if res.status ~= 200 then
        return nil, "GET /v1/containers answered " .. res.status .. ": " .. snippet(res.body)
    end
    self:heard()
    return snapshot.from_containers(res.body)
end

-- One exchange: a snapshot, "unchanged", or nil, an error and whether it timed out. Without
-- since, the current state at once; with it, a long-poll that waits for a version other than since.
function Poller:fetch(since)
    local inst = self.inst
    local hosts = inst.topology == "hosts"
    if not since and not hosts then
        return self:containers()
    end
    local path, read_timeout = "/v1/health", inst.timeout_ms
    if since then
        path = "/v1/health?since=" .. since .. "&wait=" .. inst.wait_ms .. "ms"
        read_timeout = inst.wait_ms + inst.timeout_ms
    end
    local res, err, timed_out = self:get(path, read_timeout)
    if not res then
        return nil, err, timed_out
    end
    if res.status == 304 and since then
        self:heard()
        return "unchanged"
    end
    if res.status ~= 200 then
        return nil, "GET " .. path .. " answered " .. res.status .. ": " .. snippet(res.body)
    end
    self:heard()
    if hosts then
        return snapshot.from_services(res.body)
    end
    -- The health answer only said that something changed; the containers carry the addresses.
    return self:containers()
end

-- Notes a failure that began at since (now, or the start of an exchange that timed out: the
-- sidecar may have hung right after its last answer). Returns the delay before the next round.
function Poller:failing(err, since, now)
    local inst, keys = self.inst, self.sc.keys
    local dict = inst.dict
    shm.set(dict, keys.err, err)
    shm.set(dict, keys.err_at, now)
    local fail_since = dict:get(keys.fail_since)
    if fail_since and fail_since <= since then
        self:log(INFO, "still fails: ", err)
        return
    end
    if shm.set(dict, keys.fail_since, since) then
        shm.bump(dict, inst.keys.gen)
    end
    if not fail_since then
        self:log(WARN, "failed: ", err, "; trusting its last snapshot, if any, for ", inst.stale_after,
            " s from ", since < now and "the start of the exchange that failed" or "now", "; retrying")
    end
end

function Poller:failed(err, since, now)
    self.failures = self.failures + 1
    self.resync = true
    self:failing(err, since, now)
    local inst = self.inst
    return min(inst.backoff_max, inst.backoff_min * 2 ^ (self.failures - 1))
end

-- Takes, keeps or gives up the sidecar's lock; true while this worker holds it.
function Poller:lock()
    local inst, key = self.inst, self.sc.keys.lock
    local dict = inst.dict
    if not self.holding then
        local ok, err = dict:add(key, self.token, inst.lock_ttl)
        if not ok then
            if err ~= "exists" then
                self:log(ERR, "cannot take the poll lock: ", err)
            end
            return false
        end
        self.holding = true
        self.renewed_at = ngx_now()
        self.resync = true
        self:log(INFO, "this worker polls it now")
        return true
    end
    return self:renew(ngx_now(), true)
end

-- Stores an in-sync snapshot (or notes that nothing changed). Returns false when the dict refused.
function Poller:store(snap, now)
    local inst, keys = self.inst, self.sc.keys
    local dict = inst.dict
    local changed = false
    if snap ~= "unchanged" then
        local data = snapshot.encode(snap)
        if dict:get(keys.data) ~= data then
            if not shm.set(dict, keys.data, data) then
                return false
            end
            changed = true
        end
        if not shm.set(dict, keys.version, snap.version) then
            return false
        end
    end
    local fail_since = dict:get(keys.fail_since)
    if fail_since then
        shm.delete(dict, keys.fail_since)
        changed = true
        self:log(NOTICE, "answers again, in sync, after ", floor((now - fail_since) * 1000 + 0.5) / 1000, " s")
    end
    if changed then
        shm.bump(dict, inst.keys.gen)
    end
    return true
end

-- One round: take or keep the lock, talk to the sidecar, store what it said. Returns the delay
-- before the next round.
function Poller:round()
    if not self:lock() then
        return self.inst.lock_retry
    end
    local since = not self.resync and self.since or nil
    update_time()
    local started = ngx_now()
    local snap, err, timed_out = self:fetch(since)
    update_time()
    local now = ngx_now()
    if not snap then
        return self:failed(err, timed_out and started or now, now)
    end
    if snap ~= "unchanged" then
        self.since = snap.version
        self.in_sync = snap.in_sync
    end
    self.resync = false
    if not self.in_sync then
        -- Up, but what it says is not the truth yet. The next long-poll returns when it is.
        self.failures = 0
        self:failing(NOT_IN_SYNC, now, now)
        return self.inst.backoff_min
    end
    if not self:store(snap, now) then
        return self:failed("cannot store the snapshot in the shared dict", now, now)
    end
    self.failures = 0
    return 0
end

function Poller:release()
    if self.holding then
        self.holding = false
        local dict, key = self.inst.dict, self.sc.keys.lock
        if dict:get(key) == self.token then
            shm.delete(dict, key)
        end
    end
end

local function poll(premature, self)
    self.armed = false
    if premature or worker_exiting() then
        return self:release()
    end
    self.running = true
    local ok, delay = pcall(self.round, self)
    self.running = false
    if not ok then
        self:log(ERR, "polling raised: ", delay, "; retrying")
        delay = self:failed("polling raised an error", ngx_now(), ngx_now())
    end
    if worker_exiting() then
        return self:release()
    end
    self:arm(delay)
end

function Poller:arm(delay)
    local ok, err = timer_at(delay, poll, self)
    if not ok then
        -- Let another worker poll meanwhile; keep() tries again on the next refresh.
        self:release()
        if not worker_exiting() then
            self:log(ERR, "cannot schedule the next poll: ", err)
        end
        return false
    end
    self.armed = true
    return true
end

--- Starts polling (from init_worker).
function Poller:start()
    self:arm(0)
end

--- Renews the lock if this worker holds it and it is due (or force); false once it is lost.
function Poller:renew(now, force)
    if not self.holding then
        return false
    end
    local inst, key = self.inst, self.sc.keys.lock
    if not force and now - self.renewed_at < inst.lock_renew then
        return true
    end
    local dict = inst.dict
    if dict:get(key) ~= self.token then
        -- The lock ran out (this worker was too busy to renew it): another worker has it.
        self.holding = false
        self:log(WARN, "lost the poll lock to another worker")
        return false
    end
    if shm.set(dict, key, self.token, inst.lock_ttl) then
        self.renewed_at = now
    end
    return true
end

--- From the instance's refresh timer: renews the lock while a long-poll waits, and re-arms the
-- poller if its timer could not be scheduled.
function Poller:keep(now)
    if worker_exiting() then
        return
    end
    self:renew(now)
    if not self.armed and not self.running then
        self:arm(0)
    end
end

return _M
