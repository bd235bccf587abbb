-- wrk script for bench/activities_bench.py: POST /api/v1/cases/{id}/activities with a bearer token.
--
--   wrk -t T -c C -d 30s -s bench/activities.lua URL -- PLAN_FILE OFFSET THREADS
--
-- PLAN_FILE (written by the bench): line 1 the token, line 2 the working days (space-separated
-- YYYY-MM-DD), then one "case_id contact_point_id" line per case. Request number n (threads
-- interleave: thread t sends OFFSET + t, OFFSET + t + THREADS, ...) goes to case n % cases, on
-- day (n / cases) % days, in slot n / (cases * days) of that day: slots 0-3 are unanswered
-- attempts (NA) at 10:xx-13:xx, slots 4-5 right-party contacts (RPC) at 14:xx-15:xx, Shanghai
-- time. With the one NA at 09:xx the bench puts in each case's history, a case never goes past
-- the guard's daily caps (5 unanswered attempts of 6, 2 connected calls of 3, 7 outbound of 10),
-- so every request should be allowed: anything but 201 is reported.
--
-- ARREARS_WRK_THINK_MS=N (environment) makes each connection wait N ms after each response
-- before its next request (the paced run); wrk reads `delay` before it calls init().

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("tid", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

local function split(line)
   local parts = {}
   for word in line:gmatch("%S+") do
      table.insert(parts, word)
   end
   return parts
end

function init(args)
   local file = assert(io.open(args[1], "r"))
   token = file:read("*l")
   days = split(file:read("*l"))
   cases = {}
   for line in file:lines() do
      local parts = split(line)
      if #parts == 2 then
         table.insert(cases, { parts[1], parts[2] })
      end
   end
   file:close()
   offset = tonumber(args[2])
   stride = tonumber(args[3])
   sent = 0
   last = -1
   statuses = {}
   sample = ""
   headers = {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
      ["Accept-Language"] = "en",
   }
end

local NA = '{"channel":"call","contact_point_id":%s,"direction":"outbound","started_at":"%sT%02d:%02d:%02d+08:00",'
   .. '"connected":false,"right_party":false,"action_code":"NA","duration_s":0}'
local RPC = '{"channel":"call","contact_point_id":%s,"direction":"outbound","started_at":"%sT%02d:%02d:%02d+08:00",'
   .. '"connected":true,"right_party":true,"action_code":"RPC","duration_s":%d,'
   .. '"notes":"客户本人接听，称月底前筹款还清第一期，已告知逾期费用。","recording_ref":"REC-%d"}'

function request()
   local n = offset + tid + sent * stride
   sent = sent + 1
   last = n
   local ncases = #cases
   local case = cases[(n % ncases) + 1]
   local rest = math.floor(n / ncases)
   local day = days[(rest % #days) + 1]
   local slot = math.floor(rest / #days)
   local minute = n % 60
   local second = math.floor(n / 60) % 60
   local body
   if slot % 6 < 4 then
      body = string.format(NA, case[2], day, 10 + slot % 6, minute, second)
   else
      body = string.format(RPC, case[2], day, 10 + slot % 6, minute, second, 30 + n % 300, n)
   end
   return wrk.format("POST", "/api/v1/cases/" .. case[1] .. "/activities", headers, body)
end

function response(status, headers, body)
   local key = tostring(status)
   statuses[key] = (statuses[key] or 0) + 1
   if status ~= 201 and sample == "" then
      sample = key .. " " .. body:sub(1, 300)
   end
end

local think = tonumber(os.getenv("ARREARS_WRK_THINK_MS") or "0")
if think > 0 then
   function delay()
      return think
   end
end

function done(summary, latency, requests)
   local counts = {}
   local highest = -1
   local samples = {}
   for _, thread in ipairs(threads) do
      for key, value in pairs(thread:get("statuses")) do
         counts[key] = (counts[key] or 0) + value
      end
      highest = math.max(highest, thread:get("last"))
      local one = thread:get("sample")
      if one ~= "" then
         table.insert(samples, one)
      end
   end
   local parts = {}
   for key, value in pairs(counts) do
      table.insert(parts, string.format('"%s":%d', key, value))
   end
   local errors = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p75_us":%d,"p90_us":%d,'
         .. '"p99_us":%d,"max_us":%d,"mean_us":%.1f,"connect_errors":%d,"read_errors":%d,"write_errors":%d,'
         .. '"non_2xx":%d,"timeouts":%d,"highest_n":%d,"statuses":{%s}}\n',
      summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(75),
      latency:percentile(90), latency:percentile(99), latency.max, latency.mean, errors.connect, errors.read,
      errors.write, errors.status, errors.timeout, highest, table.concat(parts, ",")
   ))
   for _, one in ipairs(samples) do
      io.write("BENCH_SAMPLE " .. one:gsub("\n", " ") .. "\n")
   end
end
