-- wrk script: POST runs/log-metric with a fresh (step, timestamp) per request,
-- spread over the runs given in the RUN_IDS environment variable.
local counter = 0
-- AUTHORIZATION, if set, is sent as the Authorization header (auth benches).
local headers = {["Content-Type"] = "application/json"}
if os.getenv("AUTHORIZATION") then headers["Authorization"] = os.getenv("AUTHORIZATION") end
local runs = {}
for id in string.gmatch(os.getenv("RUN_IDS") or "", "[^,]+") do runs[#runs + 1] = id end

request = function()
  counter = counter + 1
  local run = runs[(counter % #runs) + 1]
  local body = string.format(
    '{"run_id":"%s","key":"loss","value":%f,"timestamp":%d,"step":%d}',
    run, 1.0 / counter, 1700000000000 + counter, counter)
  return wrk.format("POST", "/api/2.0/mlflow/runs/log-metric",
                    headers, body)
end

response = function(status, headers, body)
  if status ~= 200 then
    io.stderr:write("log-metric failed: " .. status .. " " .. body .. "\n")
  end
end
