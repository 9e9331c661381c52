-- luacheck configuration: `luacheck .` from lua/ (run by the test suite, see README).
std = "ngx_lua"
max_line_length = 120
codes = true

files["spec/"] = { std = "+busted" }
exclude_files = { "target/" }
