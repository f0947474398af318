-- Shared by every scenario (prepended by bench/__main__.py). Settings come from the environment.
local threads = {}
local next_tid = 0

function setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
  table.insert(threads, thread)
end

KEY = os.getenv("BENCH_KEY") or ""
N = tonumber(os.getenv("BENCH_N") or "1000000")
HOT = tonumber(os.getenv("BENCH_HOT") or "0")
RUN = os.getenv("BENCH_RUN") or "r"
POOL_BASE = tonumber(os.getenv("BENCH_POOL_BASE") or "0")
POOL_SLICE = tonumber(os.getenv("BENCH_POOL_SLICE") or "0")
COUNTERS = {"ok", "bad", "done_pairs", "confirmed", "cancelled", "ops"}

ok, bad, done_pairs, confirmed, cancelled, ops = 0, 0, 0, 0, 0, 0
last_bad = ""
counter = 0
salt = ""

function init(args)
  math.randomseed(os.time() + (tid or 0) * 7919 + math.floor(os.clock() * 1000000))
  salt = string.format("%x%x", math.random(0, 0x7fffffff), math.random(0, 0x7fffffff))
end

-- a fresh Idempotency-Key per request: run, thread, counter, random salt
function idem()
  counter = counter + 1
  return RUN .. "-" .. tid .. "-" .. counter .. "-" .. salt
end

function code_of(n) return string.format("B%012d", n) end

function pick_code()
  if HOT > 0 then return code_of(math.random(1, HOT)) end
  return code_of(math.random(1, N))
end

function pool_code(i) return string.format("P%012d", POOL_BASE + (tid - 1) * POOL_SLICE + i) end

function get_headers()
  return { ["Authorization"] = "Bearer " .. KEY }
end

function post_headers()
  return {
    ["Authorization"] = "Bearer " .. KEY,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = idem(),
  }
end

function count(status, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
    return true
  end
  bad = bad + 1
  last_bad = status .. " " .. string.sub(body or "", 1, 160)
  return false
end

function done(summary, latency, requests)
  local e = summary.errors
  local out = string.format(
    '{"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean)
  for _, name in ipairs(COUNTERS) do
    local total = 0
    for _, t in ipairs(threads) do total = total + (t:get(name) or 0) end
    out = out .. string.format(',"%s":%d', name, total)
  end
  local sample = ""
  for _, t in ipairs(threads) do
    local s = t:get("last_bad")
    if s and s ~= "" then sample = s end
  end
  sample = string.gsub(sample, '[%c"\\]', " ")
  io.write("BENCHJSON " .. out .. ',"bad_sample":"' .. sample .. '"}\n')
end
