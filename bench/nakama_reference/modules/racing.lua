--[[
The racing game for real Nakama (Lua runtime): a port of nakama-py's runtime_modules/racing, limited to
what the bench drives, so nakama-py and Nakama can be measured side by side.

RPCs (same names, payloads and reply shapes as the Python module):
  submit_race_time  players: {"race_time": seconds, "idempotency_key": "...", "metadata": {...}}
                    -> {"success":true,"cycle":n,"race_time_ms":n,"best_time_ms":n,"rank":n,"personal_best":b}
  get_leaderboard   players or http_key: {"limit": 1-1000, "cycle": n}
                    -> {"cycle":n,"ends_at":"...Z","entries":[{"rank","user_id","username","race_time_ms"}],
                        "total":n,"me":{"rank":n,"race_time_ms":n}|null}
  get_submission    players: {"idempotency_key": "..."} -> the receipt ("status":"applied") | "pending"

Settings from runtime.env, same keys and defaults as the Python module: racing_cycle_seconds (300),
racing_min_race_seconds (1), racing_max_race_seconds (3600), racing_idempotency_ttl_seconds (3600),
racing_submit_rate_per_minute (10), racing_leaderboard_cache_ms (1000), racing_retention_days (7).

Not ported (the bench scenarios above do not use them): finalization and rewards (manual_reset_leaderboard,
the reset hook), system_metrics, run_retention, regions, the streamed mode, live races, /racing/standings.
]]

local nk = require("nakama")

local BOARD = "race_times"
local RECEIPTS = "race_receipts"   -- per player, key = idempotency key: {"reply": "<json>", "at": unix s}
local STATE = "race_state"         -- per player, key "submit": rate-limit buckets and the cycle's best
local STATE_KEY = "submit"
local RATE_WINDOW_SECONDS = 60
local DEFAULT_LIMIT = 100
local MAX_LIMIT = 1000
local MAX_METADATA_BYTES = 2048
local GEN_KEY = "racing:gen"

local INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED, UNAUTHENTICATED = 3, 5, 8, 16

local floor = math.floor
local format = string.format

local function fail(message, code)
  error({ message, code })
end

-- Settings ------------------------------------------------------------------------------------------

local function number_setting(env, key, default, integer, minimum, exclusive)
  local raw = env[key]
  if raw == nil or raw:match("^%s*$") then
    return default
  end
  local value = tonumber(raw)
  if value == nil or (integer and value ~= floor(value)) then
    error(format("%s: %q is not %s", key, raw, integer and "an integer" or "a number"))
  end
  if value ~= value or value == math.huge or value < minimum or (exclusive and value == minimum) then
    error(format("%s: must be %s %g, got %q", key, exclusive and "greater than" or "at least", minimum, raw))
  end
  return value
end

local function cycle_schedule(c)
  if c < 60 and 60 % c == 0 then
    return format("*/%d * * * * * *", c)
  end
  -- Nakama's cron parser refuses a step beyond the field's range (*/60 minutes, */24 hours): a cycle of a
  -- whole hour or day is written "0 * * * *" / "0 0 * * *" (the same boundaries as the Python module's).
  if c == 3600 then
    return "0 * * * *"
  end
  if c == 86400 then
    return "0 0 * * *"
  end
  if c % 60 == 0 and 3600 % c == 0 then
    return format("*/%d * * * *", c / 60)
  end
  if c % 3600 == 0 and 86400 % c == 0 then
    return format("0 */%d * * *", c / 3600)
  end
  error(format("racing_cycle_seconds: %d does not divide a minute, an hour or a day "
    .. "(e.g. 10, 30, 60, 300, 600, 3600, 86400)", c))
end

local function read_settings(env)
  env = env or {}
  local s = {}
  s.cycle_seconds = number_setting(env, "racing_cycle_seconds", 300, true, 1)
  s.reset_schedule = cycle_schedule(s.cycle_seconds)
  s.min_race_seconds = number_setting(env, "racing_min_race_seconds", 1.0, false, 0, true)
  s.max_race_seconds = number_setting(env, "racing_max_race_seconds", 3600.0, false, 0, true)
  if s.max_race_seconds < s.min_race_seconds then
    error(format("racing_max_race_seconds: must be at least racing_min_race_seconds (%g)", s.min_race_seconds))
  end
  s.idempotency_ttl_seconds = number_setting(env, "racing_idempotency_ttl_seconds", 3600, true, 1)
  s.submit_rate_per_minute = number_setting(env, "racing_submit_rate_per_minute", 10, true, 1)
  s.leaderboard_cache_ms = number_setting(env, "racing_leaderboard_cache_ms", 1000, true, 0)
  s.retention_seconds = number_setting(env, "racing_retention_days", 7.0, false, 0, true) * 86400
  return s
end

local settings = nil -- parsed once per Lua VM, from the first context that carries runtime.env

local function settings_of(ctx)
  if settings == nil then
    settings = read_settings(ctx.env)
  end
  return settings
end

-- Cycles: cycle n covers [n * length, (n + 1) * length) of unix time; its period is keyed by its end.

local function cycle_of(s, t) return floor(t / s.cycle_seconds) end
local function cycle_end(s, cycle) return (cycle + 1) * s.cycle_seconds end
local function cycle_of_expiry(s, expiry) return floor(expiry / s.cycle_seconds) - 1 end

local function iso_utc(t) -- unix seconds -> "YYYY-MM-DDTHH:MM:SSZ" (civil-from-days; no time zone involved)
  local days = floor(t / 86400)
  local secs = t - days * 86400
  local z = days + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return format("%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, floor(secs / 3600), floor(secs % 3600 / 60), secs % 60)
end

local ends_at_memo = { -1, "" }
local function ends_at(s, cycle)
  if ends_at_memo[1] ~= cycle then
    ends_at_memo = { cycle, iso_utc(cycle_end(s, cycle)) }
  end
  return ends_at_memo[2]
end

-- Payloads --------------------------------------------------------------------------------------------

local function json_object(payload)
  if payload == nil or payload:match("^%s*$") then
    return {}
  end
  local ok, value = pcall(nk.json_decode, payload)
  -- a JSON array decodes to a table too: it has [1] (an empty array is indistinguishable from {}).
  if not ok or type(value) ~= "table" or value[1] ~= nil then
    fail("payload must be a JSON object", INVALID_ARGUMENT)
  end
  return value
end

local function optional_int(body, field, low, high)
  local value = body[field]
  if value == nil then return nil end
  if type(value) ~= "number" or value ~= floor(value) or value < low or (high ~= nil and value > high) then
    local bounds = high ~= nil and format("from %d to %d", low, high) or format("of at least %d", low)
    fail(format("%s must be an integer %s", field, bounds), INVALID_ARGUMENT)
  end
  return value
end

local function race_time(body, low, high)
  local value = body.race_time
  if value == nil then
    fail("race_time is required: the race time in seconds", INVALID_ARGUMENT)
  end
  if type(value) ~= "number" or value ~= value or value == math.huge or value == -math.huge then
    fail("race_time must be a finite number of seconds", INVALID_ARGUMENT)
  end
  if value < low or value > high then
    fail(format("race_time must be between %g and %g seconds", low, high), INVALID_ARGUMENT)
  end
  return value
end

local function idempotency_key(body)
  local value = body.idempotency_key
  local chars = type(value) == "string" and select(2, value:gsub("[^\128-\191]", "")) or 0 -- code points
  if type(value) ~= "string" or chars < 1 or chars > 128 then
    fail("idempotency_key must be a string of 1 to 128 characters", INVALID_ARGUMENT)
  end
  if value:find("[%z\1-\31\127]") then
    fail("idempotency_key must not contain control characters", INVALID_ARGUMENT)
  end
  return value
end

local function metadata(body)
  local value = body.metadata
  if value == nil then return nil end
  if type(value) ~= "table" or value[1] ~= nil then
    fail("metadata must be a JSON object", INVALID_ARGUMENT)
  end
  if #nk.json_encode(value) > MAX_METADATA_BYTES then
    fail(format("metadata must be at most %d bytes of JSON", MAX_METADATA_BYTES), INVALID_ARGUMENT)
  end
  return value
end

local function receipt_key(key)
  -- Nakama storage keys are at most 128 bytes; a longer (multi-byte) idempotency key is stored by its hash.
  if #key <= 128 then return key end
  return "sha256:" .. nk.sha256_hash(key)
end

local function json_string(text)
  if text:find('[%c"\\]') then
    return nk.json_encode(text)
  end
  return '"' .. text .. '"'
end

-- Metrics (the Python module's counters; exported with the custom prefix when Prometheus is on) --------

local SUBMISSIONS_ACCEPTED = "racing_submissions_accepted"
local SUBMISSIONS_REJECTED = "racing_submissions_rejected"
local REJECTED_TAGS = {
  invalid = { reason = "invalid" }, duplicate = { reason = "duplicate" }, rate_limit = { reason = "rate_limit" },
}

local function rejected(reason)
  nk.metrics_counter_add(SUBMISSIONS_REJECTED, REJECTED_TAGS[reason], 1)
end

-- Standings memo (the Python module's leaderboard_cache_ms memo), shared by this process's Lua VMs ------

local function generation()
  return nk.localcache_get(GEN_KEY, 0)
end

local function changed(rank)
  if rank <= MAX_LIMIT then
    nk.localcache_put(GEN_KEY, generation() + 1)
  end
end

-- submit_race_time --------------------------------------------------------------------------------------

local function reply_json(cycle, submitted, best, rank, updated)
  return format('{"success":true,"cycle":%d,"race_time_ms":%d,"best_time_ms":%d,"rank":%d,"personal_best":%s}',
    cycle, submitted, best, rank, updated and "true" or "false")
end

-- The player's state object: {"b": [[second, accepted], ...] (the last minute), "e": expiry, "best": ms}.
-- The rolling window is counted in whole seconds: a bucket counts while its second started less than 60 s ago.
local function window_count(state, now)
  local count, oldest = 0, nil
  for _, bucket in ipairs(state.b or {}) do
    if bucket[1] > now - RATE_WINDOW_SECONDS then
      count = count + bucket[2]
      if oldest == nil or bucket[1] < oldest then oldest = bucket[1] end
    end
  end
  return count, oldest
end

local function next_state(state, now, expiry, score)
  local second = floor(now)
  local buckets, found = {}, false
  for _, bucket in ipairs(state.b or {}) do
    if bucket[1] > now - RATE_WINDOW_SECONDS then
      if bucket[1] == second then
        buckets[#buckets + 1] = { second, bucket[2] + 1 }
        found = true
      else
        buckets[#buckets + 1] = { bucket[1], bucket[2] }
      end
    end
  end
  if not found then buckets[#buckets + 1] = { second, 1 } end
  local best = score
  if state.e == expiry and state.best ~= nil and state.best < score then best = state.best end
  return { b = buckets, e = expiry, best = best }
end

local function read_receipt_and_state(user_id, rkey)
  local objects = nk.storage_read({
    { collection = RECEIPTS, key = rkey, user_id = user_id },
    { collection = STATE, key = STATE_KEY, user_id = user_id },
  })
  local receipt, state
  for _, object in ipairs(objects) do
    if object.collection == RECEIPTS then receipt = object else state = object end
  end
  return receipt, state
end

local function fresh_receipt(s, receipt, now)
  return receipt ~= nil and now - (receipt.value.at or 0) < s.idempotency_ttl_seconds
end

local function player_of(ctx, rpc)
  local user_id = ctx.user_id
  if user_id == nil or user_id == "" then
    fail(rpc .. " needs a player session token; http_key calls are refused", UNAUTHENTICATED)
  end
  return user_id
end

local function submit_race_time(ctx, payload)
  local user_id = player_of(ctx, "submit_race_time")
  local s = settings_of(ctx)
  local ok, body, seconds, key, meta = pcall(function()
    local b = json_object(payload)
    return b, race_time(b, s.min_race_seconds, s.max_race_seconds), idempotency_key(b), metadata(b)
  end)
  if not ok then
    rejected("invalid")
    error(body, 0)
  end

  local rkey = receipt_key(key)
  local receipt, state = read_receipt_and_state(user_id, rkey)
  local now = nk.time() / 1000
  if fresh_receipt(s, receipt, now) then -- a replayed key: the first call's reply, nothing written
    rejected("duplicate")
    return receipt.value.reply
  end
  local count, oldest = window_count(state and state.value or {}, now)
  if count >= s.submit_rate_per_minute then
    rejected("rate_limit")
    local retry = math.max(1, math.ceil(oldest + RATE_WINDOW_SECONDS - now))
    fail(format("rate limit exceeded: at most %d submissions per minute; retry in %d s",
      s.submit_rate_per_minute, retry), RESOURCE_EXHAUSTED)
  end

  local score = floor(seconds * 1000 + 0.5)
  local record = nk.leaderboard_record_write(BOARD, user_id, ctx.username, score, 0, meta)
  local expiry = record.expiry_time or 0
  local previous = state and state.value or {}
  local prev_best = previous.e == expiry and previous.best or nil
  local updated = record.score == score and (prev_best == nil or score < prev_best)
  local reply = reply_json(cycle_of_expiry(s, expiry), score, record.score, record.rank, updated)

  -- The receipt (create-only, or over an expired one) and the rate window in one transaction; a conflict
  -- means a concurrent call of the same player: re-read, and answer its receipt if it was for this key.
  for _ = 1, 5 do
    local written = pcall(nk.storage_write, {
      { collection = RECEIPTS, key = rkey, user_id = user_id, value = { reply = reply, at = now },
        version = receipt and receipt.version or "*", permission_read = 0, permission_write = 0 },
      { collection = STATE, key = STATE_KEY, user_id = user_id,
        value = next_state(state and state.value or {}, now, expiry, score),
        version = state and state.version or "*", permission_read = 0, permission_write = 0 },
    })
    if written then
      nk.metrics_counter_add(SUBMISSIONS_ACCEPTED, nil, 1)
      changed(record.rank)
      return reply
    end
    receipt, state = read_receipt_and_state(user_id, rkey)
    if fresh_receipt(s, receipt, now) then
      rejected("duplicate")
      return receipt.value.reply
    end
  end
  fail("submit_race_time: could not store the receipt (concurrent submissions)", 10) -- ABORTED
end

-- get_leaderboard ---------------------------------------------------------------------------------------

local function checked_cycle(s, cycle, now)
  local current = cycle_of(s, now)
  if cycle == nil then return current end
  if cycle > current then
    fail(format("cycle %d has not started yet (the current cycle is %d)", cycle, current), INVALID_ARGUMENT)
  end
  if cycle_end(s, cycle) <= now - s.retention_seconds then
    fail(format("cycle %d is no longer kept", cycle), NOT_FOUND)
  end
  return cycle
end

local function render(records, total, built, gen)
  local parts, times = {}, {}
  for i, r in ipairs(records) do
    parts[i] = format('{"rank":%d,"user_id":"%s","username":%s,"race_time_ms":%d}',
      r.rank, r.owner_id, json_string(r.username or ""), r.score)
    times[r.owner_id] = r.score
  end
  return { built = built, gen = gen, entries = "[" .. table.concat(parts, ",") .. "]", total = total, times = times }
end

local function get_leaderboard(ctx, payload)
  local s = settings_of(ctx)
  local body = json_object(payload)
  local limit = optional_int(body, "limit", 1, MAX_LIMIT) or DEFAULT_LIMIT
  local now_ms = nk.time()
  local cycle = checked_cycle(s, optional_int(body, "cycle", 0), now_ms / 1000)
  local expiry = cycle_end(s, cycle)
  local user_id = ctx.user_id
  if user_id == "" then user_id = nil end
  local owners = user_id and { user_id } or nil

  local memo_key = "racing:lb:" .. cycle .. ":" .. limit
  local gen = generation()
  local rendered = nil
  if s.leaderboard_cache_ms > 0 then
    local memo = nk.localcache_get(memo_key)
    if memo ~= nil and now_ms - memo.built < s.leaderboard_cache_ms and memo.gen == gen then
      rendered = memo
    end
  end

  local mine = nil
  local function build()
    local records, owner_records, _, _, total = nk.leaderboard_records_list(BOARD, owners, limit, nil, expiry)
    rendered = render(records, total, now_ms, gen)
    mine = owner_records and owner_records[1] or nil
    if s.leaderboard_cache_ms > 0 then
      nk.localcache_put(memo_key, rendered, math.ceil(s.leaderboard_cache_ms / 1000) + 1)
    end
  end

  if rendered == nil then
    build()
  elseif owners ~= nil then -- the caller's own standing is read fresh on every call
    local _, owner_records = nk.leaderboard_records_list(BOARD, owners, 0, nil, expiry)
    mine = owner_records[1]
    if mine ~= nil and mine.rank <= limit and rendered.times[user_id] ~= mine.score then
      build() -- the memo shows an older time of the caller's: render again
    end
  end

  local me = "null"
  if mine ~= nil then
    me = format('{"rank":%d,"race_time_ms":%d}', mine.rank, mine.score)
  end
  return format('{"cycle":%d,"ends_at":"%s","entries":%s,"total":%d,"me":%s}',
    cycle, ends_at(s, cycle), rendered.entries, rendered.total, me)
end

-- get_submission ------------------------------------------------------------------------------------------

local function get_submission(ctx, payload)
  local user_id = player_of(ctx, "get_submission")
  local s = settings_of(ctx)
  local key = idempotency_key(json_object(payload))
  local receipt = read_receipt_and_state(user_id, receipt_key(key))
  if fresh_receipt(s, receipt, nk.time() / 1000) then
    local reply = receipt.value.reply
    return reply:sub(1, -2) .. ',"status":"applied","idempotency_key":' .. json_string(key) .. "}"
  end
  return '{"success":true,"status":"pending","idempotency_key":' .. json_string(key) .. "}"
end

-- Start-up ----------------------------------------------------------------------------------------------

nk.run_once(function(ctx)
  local s = read_settings(ctx.env) -- a bad setting stops start-up with its message
  nk.leaderboard_create(BOARD, true, "asc", "best", s.reset_schedule, {}, true)
  local boards = nk.leaderboards_get_id({ BOARD })
  local board = boards and boards[1]
  -- The Lua API does not show a board's schedule; its next reset tells whether its periods are the cycles.
  local next_reset = board and board.next_reset
  local now = nk.time() / 1000
  if next_reset ~= nil and (next_reset % s.cycle_seconds ~= 0 or next_reset - now > s.cycle_seconds) then
    error(format("racing_cycle_seconds: leaderboard %q next resets at %d, which is not a %d-second cycle end; "
      .. "delete the board (nk.leaderboard_delete) to change the cycle length", BOARD, next_reset, s.cycle_seconds))
  end
  nk.metrics_counter_add(SUBMISSIONS_ACCEPTED, nil, 0)
  for _, tags in pairs(REJECTED_TAGS) do
    nk.metrics_counter_add(SUBMISSIONS_REJECTED, tags, 0)
  end
  nk.logger_info(format("racing ready: cycle_seconds=%d current_cycle=%d", s.cycle_seconds,
    cycle_of(s, nk.time() / 1000)))
end)

nk.register_rpc(submit_race_time, "submit_race_time")
nk.register_rpc(get_leaderboard, "get_leaderboard")
nk.register_rpc(get_submission, "get_submission")
