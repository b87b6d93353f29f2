-- wrk script: POST runs/log-batch with 1000 model-linked metric points per
-- request (10 keys x 100 steps, each naming a logged model and a dataset),
-- fresh steps each time. RUN_IDS: "<run>:<model>,<run>:<model>,...".
local counter = 0
local pairs_ = {}
for item in string.gmatch(os.getenv("RUN_IDS") or "", "[^,]+") do
  local run, model = string.match(item, "([^:]+):([^:]+)")
  pairs_[#pairs_ + 1] = {run, model}
end
local next_thread_id = 0
thread_id = 0

setup = function(thread)
  thread:set("thread_id", next_thread_id)
  next_thread_id = next_thread_id + 1
end

request = function()
  counter = counter + 1
  local pick = pairs_[((counter + thread_id) % #pairs_) + 1]
  local parts = {}
  local base = (thread_id * 100000000) + counter * 100
  for k = 0, 9 do
    for s = 0, 99 do
      parts[#parts + 1] = string.format(
        '{"key":"m%d","value":%d.5,"timestamp":%d,"step":%d,"model_id":"%s",' ..
        '"dataset_name":"val","dataset_digest":"d1"}',
        k, s, 1700000000000 + base, base + s, pick[2])
    end
  end
  local body = '{"run_id":"' .. pick[1] .. '","metrics":[' .. table.concat(parts, ",") .. ']}'
  return wrk.format("POST", "/api/2.0/mlflow/runs/log-batch",
                    {["Content-Type"] = "application/json"}, body)
end

response = function(status, headers, body)
  if status ~= 200 then
    io.stderr:write("log-batch failed: " .. status .. " " .. body .. "\n")
  end
end
