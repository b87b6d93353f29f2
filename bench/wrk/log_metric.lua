-- wrk script: POST runs/log-metric with a fresh (step, timestamp) per request,
-- spread over the runs given in the RUN_IDS environment variable.
--
-- Every point must be new: the store skips a point it already holds (a
-- retried request), and such a commit writes nothing and needs no fsync, so
-- repeats would measure a cheaper request than a real one. Each wrk thread
-- counts from its own base, and COUNTER_BASE (set per wrk run by the bench)
-- keeps one run's points apart from the last's on the same runs.
local thread_count = 0
function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
end

local counter = 0
function init(args)
  counter = tonumber(os.getenv("COUNTER_BASE") or "0") + (thread_index or 0) * 100000000
end

-- AUTHORIZATION, if set, is sent as the Authorization header (auth benches).
local headers = {["Content-Type"] = "application/json"}
if os.getenv("AUTHORIZATION") then headers["Authorization"] = os.getenv("AUTHORIZATION") end
local runs = {}
for id in string.gmatch(os.getenv("RUN_IDS") or "", "[^,]+") do runs[#runs + 1] = id end

request = function()
  counter = counter + 1
  local run = runs[(counter % #runs) + 1]
  local body = string.format(
    '{"run_id":"%s","key":"loss","value":%.6g,"timestamp":%d,"step":%d}',
    run, 1.0 / counter, 1700000000000 + counter, counter)
  return wrk.format("POST", "/api/2.0/mlflow/runs/log-metric",
                    headers, body)
end

response = function(status, headers, body)
  if status ~= 200 then
    io.stderr:write("log-metric failed: " .. status .. " " .. body .. "\n")
  end
end
