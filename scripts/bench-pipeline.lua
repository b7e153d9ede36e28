-- wrk script for the pipelined workload: every write carries 16 GETs of the
-- URL's path; wrk counts each of the 16 responses as a request.
-- Used by scripts/bench.sh (via bench/cmd/harness) as: wrk -s bench-pipeline.lua URL
local depth = 16

init = function(args)
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format(nil)
  end
  req = table.concat(r)
end

request = function()
  return req
end
