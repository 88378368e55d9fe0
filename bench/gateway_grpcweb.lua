-- wrk driver: gRPC-web unary GetRelease (binary framing) through the gateway.
-- RELEASE_ID and TOKEN come from the environment (bench/gateway sets them).
local id = os.getenv("RELEASE_ID")
local token = os.getenv("TOKEN")
-- GetReleaseRequest{id} = field 1, wire type 2: 0x0a, length, bytes; then a 5-byte frame header.
local message = "\10" .. string.char(#id) .. id
local n = #message
local frame = string.char(0, 0, 0, math.floor(n / 256) % 256, n % 256) .. message
wrk.method = "POST"
wrk.path = "/flightdeck.v1.ReleaseService/GetRelease"
wrk.body = frame
wrk.headers["Content-Type"] = "application/grpc-web+proto"
wrk.headers["X-Grpc-Web"] = "1"
wrk.headers["Authorization"] = "Bearer " .. token

local failures = 0
function response(status, headers, body)
  if status ~= 200 or headers["grpc-status"] ~= nil and headers["grpc-status"] ~= "0" then
    failures = failures + 1
  end
end
