-- wrk's script for bench/outside.py: replays a file of requests (one a line: method, target,
-- headers, body, separated by tabs; headers as name \2 value pairs separated by \1), each thread
-- its every n-th request. When a thread's share has been answered it stops and leaves a file
-- named WRK_DONE..tid, by which bench/outside.py knows to end wrk (SIGINT: wrk then reports at
-- once instead of at the end of its duration). A connection that asks for more after the share
-- has been sent repeats the share from its start (real work, counted: at most one per
-- connection). `done` prints one line, WRK_RESULT {json}.

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(os.getenv("WRK_THREADS"))
  mine = {}
  local index = 0
  for line in io.lines(os.getenv("WRK_REQUESTS")) do
    if index % nthreads == tid then
      local method, target, headers, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      local h = {}
      for pair in headers:gmatch("[^\1]+") do
        local name, value = pair:match("^([^\2]*)\2(.*)$")
        h[name] = value
      end
      if body == "" then body = nil end
      table.insert(mine, wrk.format(method, target, h, body))
    end
    index = index + 1
  end
  sent = 0
  answered = 0
  statuses = {}
  codes = ""
end

function request()
  sent = sent + 1
  return mine[((sent - 1) % #mine) + 1]
end

function response(status, headers, body)
  answered = answered + 1
  statuses[status] = (statuses[status] or 0) + 1
  if answered >= #mine then
    local parts = {}
    for code, n in pairs(statuses) do table.insert(parts, code .. ":" .. n) end
    codes = table.concat(parts, " ")
    wrk.thread:stop()
    local marker = io.open(os.getenv("WRK_DONE") .. tid, "w")
    marker:close()
  end
end

function done(summary, latency, requests)
  local parts = {}
  for _, thread in ipairs(threads) do table.insert(parts, thread:get("codes")) end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"socket_errors": %d, "statuses": "%s"}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, table.concat(parts, " ")))
end
