-- S5: a mixed POS day. Per operation: 60% look-up, 25% two-phase redeem (open, hold,
-- confirm), 5% sell a prepared card, 5% reload, 3% refund (of what this connection spent),
-- 2% balance transfer to a prepared card. One connection per wrk thread (state machine).
local op, step, receipt, code, spent_code, held = nil, 0, nil, nil, nil, false
local pool_used = 0
local amount_body = '{"amount_minor":%d,"currency":"EUR"}'

local function next_pool()
  if pool_used >= POOL_SLICE then return nil end
  pool_used = pool_used + 1
  return pool_code(pool_used)
end

local function choose()
  local r = math.random(1, 100)
  step = 0
  if r <= 60 then op = "lookup"
  elseif r <= 85 then op = "two_phase"
  elseif r <= 90 then op = "sell"; code = next_pool()
  elseif r <= 95 then op = "reload"
  elseif r <= 98 then op = "refund"; code = spent_code; spent_code = nil
  else op = "transfer"; code = next_pool() end
  if (op == "sell" or op == "transfer" or op == "refund") and code == nil then op = "lookup" end
end

function request()
  if op == nil then choose() end
  if op == "lookup" then
    return wrk.format("GET", "/v1/pos/vouchers/" .. pick_code(), get_headers())
  elseif op == "two_phase" then
    if step == 0 then
      return wrk.format("POST", "/v1/pos/receipts", post_headers(), "{}")
    elseif step == 1 then
      return wrk.format("POST", "/v1/pos/vouchers/" .. code .. "/redemptions", post_headers(),
        '{"amount_minor":1,"currency":"EUR","receipt":{"receipt_id":' .. receipt .. '}}')
    end
    return wrk.format("POST", "/v1/pos/receipts/" .. receipt .. "/confirm", post_headers())
  elseif op == "sell" then
    return wrk.format("POST", "/v1/pos/sales", post_headers(),
      '{"items":[{"code":"' .. code .. '","amount_minor":5000}]}')
  elseif op == "reload" then
    return wrk.format("POST", "/v1/pos/vouchers/" .. pick_code() .. "/reloads", post_headers(),
      string.format(amount_body, 100))
  elseif op == "refund" then
    return wrk.format("POST", "/v1/pos/vouchers/" .. code .. "/refunds", post_headers(),
      string.format(amount_body, 1))
  end
  return wrk.format("POST", "/v1/pos/vouchers/" .. pick_code() .. "/transfers", post_headers(),
    '{"target_code":"' .. code .. '"}')
end

function response(status, headers, body)
  local good = count(status, body)
  if op == "two_phase" and step < 2 then
    if step == 0 then
      if not good then op = nil; return end
      receipt = string.match(body, '"receipt_id":%s*(%d+)')
      code = pick_code()
      step = 1
    else
      held = good
      step = 2   -- confirm (a failed hold leaves an empty receipt; confirming it is harmless)
    end
    return
  end
  if good then
    ops = ops + 1
    if op == "two_phase" then
      if held then
        done_pairs = done_pairs + 1
        confirmed = confirmed + 1
        spent_code = code
      end
    end
  end
  op = nil
end
