-- wrk script: POST runs/log-batch with 1000 metric points per request
-- (10 keys x 100 steps), fresh steps each time. RUN_IDS lists the targets,
-- "<run>" or "<run>:<model>"; with a model, every point also names that
-- logged model and a dataset (MLflow 3's model-linked metrics).
local counter = 0
-- AUTHORIZATION, if set, is sent as the Authorization header (auth benches).
local headers = {["Content-Type"] = "application/json"}
if os.getenv("AUTHORIZATION") then headers["Authorization"] = os.getenv("AUTHORIZATION") end
local targets = {}
for item in string.gmatch(os.getenv("RUN_IDS") or "", "[^,]+") do
  local run, model = string.match(item, "^([^:]+):?(.*)$")
  targets[#targets + 1] = {run = run, model = model}
end
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
  local target = targets[((counter + thread_id) % #targets) + 1]
  local link = ""
  if target.model ~= "" then
    link = ',"model_id":"' .. target.model .. '","dataset_name":"val","dataset_digest":"d1"'
  end
  local parts = {}
  local base = (thread_id * 100000000) + counter * 100
  for k = 0, 9 do
    for s = 0, 99 do
      parts[#parts + 1] = string.format(
        '{"key":"m%d","value":%d.5,"timestamp":%d,"step":%d%s}', k, s, 1700000000000 + base,
        base + s, link)
    end
  end
  local body = '{"run_id":"' .. target.run .. '","metrics":[' .. table.concat(parts, ",") .. ']}'
  return wrk.format("POST", "/api/2.0/mlflow/runs/log-batch",
                    headers, body)
end

response = function(status, headers, body)
  if status ~= 200 then
    io.stderr:write("log-batch failed: " .. status .. " " .. body .. "\n")
  end
end
