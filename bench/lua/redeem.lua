-- S1 / S2: one-call redemption of 1 minor unit, uniform over N vouchers or over the HOT ones
local body = '{"amount_minor":1,"currency":"EUR"}'
function request()
  return wrk.format("POST", "/v1/pos/vouchers/" .. pick_code() .. "/redemptions", post_headers(), body)
end
function response(status, headers, b) count(status, b) end
