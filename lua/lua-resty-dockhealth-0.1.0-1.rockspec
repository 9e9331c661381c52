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
        (round-robin, weighted, retries never repeat a peer) from each worker's view, without any
        network call on the request path. Runs on OpenResty and on nginx with ngx_lua
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
        ["resty.dockhealth.http"] = "lib/resty/dockhealth/http.lua",
        ["resty.dockhealth.json"] = "lib/resty/dockhealth/json.lua",
        ["resty.dockhealth.picker"] = "lib/resty/dockhealth/picker.lua",
        ["resty.dockhealth.shm"] = "lib/resty/dockhealth/shm.lua",
        ["resty.dockhealth.snapshot"] = "lib/resty/dockhealth/snapshot.lua",
        ["resty.dockhealth.sync"] = "lib/resty/dockhealth/sync.lua",
        ["resty.dockhealth.view"] = "lib/resty/dockhealth/view.lua",
    },
}
