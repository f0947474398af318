-- S3: open a receipt, hold 1 minor unit on it, confirm (or cancel 10%). One connection per
-- wrk thread, so request() and response() strictly alternate: a state machine per connection.
local step, receipt, code, cancel_this = 0, nil, nil, false
local redeem_body = '{"amount_minor":1,"currency":"EUR","receipt":{"receipt_id":%s}}'

function request()
  if step == 0 then
    return wrk.format("POST", "/v1/pos/receipts", post_headers(), "{}")
  elseif step == 1 then
    return wrk.format("POST", "/v1/pos/vouchers/" .. code .. "/redemptions", post_headers(),
      string.format(redeem_body, receipt))
  end
  local close = cancel_this and "cancel" or "confirm"
  return wrk.format("POST", "/v1/pos/receipts/" .. receipt .. "/" .. close, post_headers())
end

function response(status, headers, body)
  local good = count(status, body)
  if step == 0 then
    if good then
      receipt = string.match(body, '"receipt_id":%s*(%d+)')
      code = pick_code()
      cancel_this = math.random() < 0.10
      step = 1
    end
  elseif step == 1 then
    if not good then cancel_this = true end   -- close the receipt anyway
    step = 2
  else
    if good then
      done_pairs = done_pairs + 1
      ops = ops + 1
      if cancel_this then cancelled = cancelled + 1 else confirmed = confirmed + 1 end
    end
    step = 0
  end
end
