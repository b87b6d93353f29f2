-- wrk script: POST /get-online-features for ENTITIES random entities
-- (user_id in [0, MAX_ID)) and the features listed in FEATURES
-- (comma-separated "view:feature"). No response callback: it would make wrk
-- copy every body into Lua; bench/online_bench.py checks wrk's non-2xx count.
local headers = {["Content-Type"] = "application/json"}
if os.getenv("AUTHORIZATION") then headers["Authorization"] = os.getenv("AUTHORIZATION") end
local entities = tonumber(os.getenv("ENTITIES") or "1")
local max_id = tonumber(os.getenv("MAX_ID") or "1000000")
local features = {}
for f in string.gmatch(os.getenv("FEATURES") or "", "[^,]+") do
  features[#features + 1] = '"' .. f .. '"'
end
local feature_list = table.concat(features, ",")
local next_thread_id = 0
thread_id = 0

setup = function(thread)
  thread:set("thread_id", next_thread_id)
  next_thread_id = next_thread_id + 1
end

-- Requests are formatted up front and replayed in turn, so the load
-- generator (which shares the machine's cores with the server) spends its
-- time sending, not building strings in Lua. 4096 distinct requests per
-- thread still spread the reads over the whole key space.
local prepared = {}
local next_request = 0

init = function()
  math.randomseed(1234 + thread_id)
  for r = 1, 4096 do
    local ids = {}
    for i = 1, entities do ids[i] = tostring(math.random(0, max_id - 1)) end
    local body = '{"features":[' .. feature_list .. '],"entities":{"user_id":[' ..
                 table.concat(ids, ",") .. ']}}'
    prepared[r] = wrk.format("POST", "/get-online-features", headers, body)
  end
end

-- DELAY_MS (a mean, in milliseconds) paces each connection: wrk waits that
-- long before each request. wrk's pauses are whole milliseconds, so a mean
-- of 0.85 mixes pauses of 0 and 1 ms.
local delay_ms = tonumber(os.getenv("DELAY_MS") or "0")
if delay_ms > 0 then
  delay = function()
    local whole = math.floor(delay_ms)
    if math.random() < delay_ms - whole then return whole + 1 end
    return whole
  end
end

request = function()
  next_request = next_request % #prepared + 1
  return prepared[next_request]
end
