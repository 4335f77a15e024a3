-- wrk script for `arcade bench`: a mix of search queries over the bench
-- catalog (the demo catalog's names, categories and prices; see
-- sql/catalog/demo.sql), and the 95th percentile, which wrk does not print.
local adjectives = {"classic", "compact", "deluxe", "eco", "pro", "smart", "travel", "ultra",
                    "vintage", "wireless"}
local nouns = {"headphones", "laptop", "kettle", "novel", "tent", "puzzle", "speaker", "blender"}
local categories = {"electronics", "audio", "computers", "home", "kitchen", "books", "outdoors",
                    "toys"}
local sorts = {"price", "-price", "newest"}

function setup(thread)
  thread:set("seed", math.random(1, 2147483647))
end

function init(args)
  math.randomseed((tonumber(seed) or os.time()) + os.time())
end

local function pick(t)
  return t[math.random(1, #t)]
end

local function price_range()
  local lo = math.random(0, 900) * 100
  return "&min_price=" .. lo .. "&max_price=" .. (lo + math.random(1, 200) * 100)
end

-- Shares: 30 one word, 20 two words in a category, 15 a category browsed by
-- price with a price range, 10 a word in stock by price, 10 deeper pages, 15
-- suggestions.
request = function()
  local r = math.random(1, 100)
  local path
  if r <= 30 then
    path = "/api/v1/search?q=" .. pick(nouns)
  elseif r <= 50 then
    path = "/api/v1/search?q=" .. pick(adjectives) .. "+" .. pick(nouns) .. "&category=" ..
           pick(categories)
  elseif r <= 65 then
    path = "/api/v1/search?category=" .. pick(categories) .. "&sort=" .. pick(sorts) ..
           price_range()
  elseif r <= 75 then
    path = "/api/v1/search?q=" .. pick(adjectives) .. "&in_stock=true&sort=" .. pick(sorts)
  elseif r <= 85 then
    path = "/api/v1/search?q=" .. pick(nouns) .. "&page=" .. math.random(2, 10) ..
           "&per_page=" .. pick({10, 20, 50})
  else
    local w = pick(math.random(1, 2) == 1 and adjectives or nouns)
    path = "/api/v1/search/suggest?q=" .. string.sub(w, 1, math.random(2, #w))
  end
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  io.write(string.format("p95_us: %d\n", latency:percentile(95)))
end
