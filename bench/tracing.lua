-- wrk driver for bench/tracing: GET /v1/releases/{id} with a W3C traceparent on every request,
-- whose sampled flag is set on SAMPLED_PERCENT of them (0, 10, 100). The stack runs
-- parentbased_always_off, so the flag alone decides what is traced: every mode sends the same
-- bytes and only the share of traced requests changes. PATH and TOKEN come from the environment.
local path = os.getenv("RELEASE_PATH")
local token = os.getenv("TOKEN")
local percent = tonumber(os.getenv("SAMPLED_PERCENT") or "0")

local requests = {}
local next_request = 1

local function hex(bytes)
  local out = {}
  for i = 1, bytes do out[i] = string.format("%02x", math.random(0, 255)) end
  return table.concat(out)
end

-- 1,000 prepared requests per thread, exactly `percent` of them sampled, cycled through.
function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
  for i = 1, 1000 do
    local flags = ((i - 1) % 100) < percent and "01" or "00"
    requests[i] = wrk.format("GET", path, {
      ["Authorization"] = "Bearer " .. token,
      ["traceparent"] = "00-" .. hex(16) .. "-" .. hex(8) .. "-" .. flags,
    })
  end
end

function request()
  local r = requests[next_request]
  next_request = next_request % #requests + 1
  return r
end
