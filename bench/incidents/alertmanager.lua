-- wrk driver: Alertmanager-shaped webhook batches (version 4) posted to the gateway.
-- BATCH alerts per request; MIX "distinct" gives every alert a new fingerprint, "repeated"
-- sends the same BATCH fingerprints every time (Alertmanager re-deliveries, HA duplicates).
local batch = tonumber(os.getenv("BATCH") or "10")
local mix = os.getenv("MIX") or "distinct"
local run = os.getenv("RUN_ID") or "0"
local token = os.getenv("TOKEN") or ""

local threads = {}
local next_index = 0
function setup(thread)
  thread:set("index", next_index)
  next_index = next_index + 1
  table.insert(threads, thread)
end

counter = 0
function init(args)
  wrk.method = "POST"
  wrk.path = "/v1/alerts/alertmanager"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Connection"] = "keep-alive"
end

function request()
  local alerts = {}
  for i = 1, batch do
    local n
    if mix == "repeated" then n = i else counter = counter + 1; n = index * 1000000000 + counter end
    local fp = string.format("%08x%08x", tonumber(run, 16) % 0xffffffff, n % 0xffffffff)
    alerts[i] = string.format(
      '{"status":"firing","labels":{"alertname":"BenchAlert","service":"bench-%s","environment":"bench","instance":"i%d","severity":"warning"},' ..
      '"annotations":{"summary":"bench"},"startsAt":"2026-11-22T10:00:00Z","endsAt":"0001-01-01T00:00:00Z",' ..
      '"generatorURL":"http://prometheus/graph","fingerprint":"%s"}', run, n, fp)
  end
  local body = '{"version":"4","groupKey":"bench","truncatedAlerts":0,"status":"firing","receiver":"flightdeck",' ..
    '"groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://alertmanager",' ..
    '"alerts":[' .. table.concat(alerts, ",") .. ']}'
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local ok = summary.requests - (summary.errors.status or 0)
  io.write(string.format("RESULT requests=%d ok=%d seconds=%.3f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, ok, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3))
end
