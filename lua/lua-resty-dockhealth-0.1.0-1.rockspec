package = "lua-resty-dockhealth"
version = "0.1.0-1"
-- No public repository yet: install from a checkout, in this directory, with
--   luarocks make lua-resty-dockhealth-0.1.0-1.rockspec
-- (make builds from the files here and never fetches source.url).
source = {
    url = "git+file:///dockhealth",
    tag = "v0.1.0",
    dir = "dockhealth/lua",
}
description = {
    summary = "An nginx balancer that sends traffic only to peers that dockhealth sidecars report healthy",
    detailed = [[
        Long-polls dockhealth sidecars (GET /v1/health?since=V&wait=...) from timers, one worker at
        a time, keeps their snapshots in a lua_shared_dict, and picks peers in balancer_by_lua
        (round-robin, weighted, retries never repeat a peer, passive checks with nginx's max_fails
        and fail_timeout) from each worker's view, without any network call on the request path.
        Topologies: hosts (a peer per host), local (the containers of this host) and cluster (the
        containers of many hosts, each at its host's address). Sidecars are reached over TCP, TLS
        or mutual TLS, or on a unix socket. Runs on OpenResty and on nginx with ngx_lua
        (lua-nginx-module), lua-resty-core and lua-cjson, all of which OpenResty bundles.
    ]],
}
dependencies = {
    "lua >= 5.1",
}
build = {
    type = "builtin",
    modules = {
        ["resty.dockhealth"] = "lib/resty/dockhealth.lua",
        ["resty.dockhealth.address"] = "lib/resty/dockhealth/address.lua",
        ["resty.dockhealth.config"] = "lib/resty/dockhealth/config.lua",
        ["resty.dockhealth.http"] = "lib/resty/dockhealth/http.lua",
        ["resty.dockhealth.instance"] = "lib/resty/dockhealth/instance.lua",
        ["resty.dockhealth.json"] = "lib/resty/dockhealth/json.lua",
        ["resty.dockhealth.passive"] = "lib/resty/dockhealth/passive.lua",
        ["resty.dockhealth.picker"] = "lib/resty/dockhealth/picker.lua",
        ["resty.dockhealth.poller"] = "lib/resty/dockhealth/poller.lua",
        ["resty.dockhealth.shm"] = "lib/resty/dockhealth/shm.lua",
        ["resty.dockhealth.sidecar"] = "lib/resty/dockhealth/sidecar.lua",
        ["resty.dockhealth.snapshot"] = "lib/resty/dockhealth/snapshot.lua",
        ["resty.dockhealth.tls"] = "lib/resty/dockhealth/tls.lua",
        ["resty.dockhealth.view"] = "lib/resty/dockhealth/view.lua",
    },
}
