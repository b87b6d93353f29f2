-- wrk script: POST runs/log-batch with 1000 metric points per request
-- (10 keys x 100 steps), fresh steps each time, over the runs in RUN_IDS.
local counter = 0
local runs = {}
for id in string.gmatch(os.getenv("RUN_IDS") or "", "[^,]+") do runs[#runs + 1] = id end
-- setup runs in wrk's main Lua state; thread:set gives each thread its own
-- global thread_id, so the threads' steps never collide.
local next_thread_id = 0
thread_id = 0

setup = function(thread)
  thread:set("thread_id", next_thread_id)
  next_thread_id = next_thread_id + 1
end

request = function()
  counter = counter + 1
  local run = runs[((counter + thread_id) % #runs) + 1]
  local parts = {}
  local base = (thread_id * 100000000) + counter * 100
  for k = 0, 9 do
    for s = 0, 99 do
      parts[#parts + 1] = string.format(
        '{"key":"m%d","value":%d.5,"timestamp":%d,"step":%d}', k, s, 1700000000000 + base, base + s)
    end
  end
  local body = '{"run_id":"' .. run .. '","metrics":[' .. table.concat(parts, ",") .. ']}'
  return wrk.format("POST", "/api/2.0/mlflow/runs/log-batch",
                    {["Content-Type"] = "application/json"}, body)
end

response = function(status, headers, body)
  if status ~= 200 then
    io.stderr:write("log-batch failed: " .. status .. " " .. body .. "\n")
  end
end
