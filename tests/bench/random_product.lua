-- wrk script for `arcade bench`: GET /api/v1/products/{id} over random ids.
-- ARCADE_BENCH_MAX_ID (default 10000) is the highest demo product id.
local max_id = tonumber(os.getenv("ARCADE_BENCH_MAX_ID") or "") or 10000

function setup(thread)
  thread:set("seed", math.random(1, 2147483647))
end

function init(args)
  math.randomseed((tonumber(seed) or os.time()) + os.time())
end

request = function()
  return wrk.format("GET", "/api/v1/products/" .. math.random(1, max_id))
end
