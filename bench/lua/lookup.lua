-- S4: balance look-up, uniform over N vouchers
function request()
  return wrk.format("GET", "/v1/pos/vouchers/" .. pick_code(), get_headers())
end
function response(status, headers, body) count(status, body) end
