-- the HTTP ceiling: the trivial endpoint of the same server setup
function request() return wrk.format("GET", "/healthz") end
function response(status, headers, body) count(status, body) end
