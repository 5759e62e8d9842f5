"""The Lua script that makes wrk send a scenario's traffic: per-token requests built once
in each wrk thread, new account ids and idempotency keys per request, statuses counted
per thread and reported with the latency percentiles as one marked JSON line.
"""

from __future__ import annotations

from nakama_py.bench.http1 import basic_auth, rpc_body, rpc_path
from nakama_py.bench.traffic import (
    RACE_TIME_MEAN,
    RACE_TIME_SPREAD,
    RACING_BOARD,
    TrafficSpec,
    leaderboard_payload,
    standings_path,
)

MARKER = "NAKAMA_PY_BENCH_WRK "

_SCRIPT = r"""-- Written by nakama-py bench for one run.
local SHAPE = __SHAPE__
local TOKENS_FILE = __TOKENS_FILE__
local THREADS = __THREADS__
local PREFIX = __PREFIX__
local RPC_PATH = __RPC_PATH__
local RPC_BODY = __RPC_BODY__
local SERVER_AUTH = __SERVER_AUTH__
local READ_SHARE = __READ_SHARE__
local READ_BODY = __READ_BODY__
local REST_READ_PATH = __REST_READ_PATH__
local STANDINGS_PATH = __STANDINGS_PATH__
local RACE_MEAN, RACE_SPREAD = __RACE_MEAN__, __RACE_SPREAD__
local MARKER = __MARKER__

local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local prebuilt, bearers = {}, {}
local at, counter = 0, 0

local function headers(auth)
  local h = {["Accept"] = "application/json", ["Content-Type"] = "application/json"}
  if auth then h["Authorization"] = auth end
  return h
end

local function race_time()
  -- Box-Muller: a normal spread of lap times, clamped like the Python engine's
  local u1, u2 = math.random(), math.random()
  if u1 < 1e-12 then u1 = 1e-12 end
  local t = RACE_MEAN + RACE_SPREAD * math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
  if t < 30 then t = 30 elseif t > 120 then t = 120 end
  return t
end

local function next_bearer()
  at = at + 1
  if at > #bearers then at = 1 end
  return bearers[at]
end

local function submission()
  counter = counter + 1
  local payload = string.format('{"race_time":%.3f,"idempotency_key":"%s-%d-%d"}', race_time(), PREFIX, tid, counter)
  local body = '"' .. payload:gsub('"', '\\"') .. '"'
  return wrk.format("POST", "/v2/rpc/submit_race_time", headers(next_bearer()), body)
end

function init(args)
  statuses = {}
  math.randomseed(os.time() * 1000 + tid)
  if TOKENS_FILE ~= "" then
    local all, mine = {}, {}
    local i = 0
    for line in io.lines(TOKENS_FILE) do
      if line ~= "" then
        table.insert(all, "Bearer " .. line)
        if i % THREADS == tid then table.insert(mine, "Bearer " .. line) end
        i = i + 1
      end
    end
    if #mine == 0 then mine = all end
    bearers = mine
  end
  for _, bearer in ipairs(bearers) do
    if SHAPE == "account" then
      table.insert(prebuilt, wrk.format("GET", "/v2/account", headers(bearer)))
    elseif SHAPE == "rpc" then
      table.insert(prebuilt, wrk.format("POST", RPC_PATH, headers(bearer), RPC_BODY))
    elseif SHAPE == "leaderboard" or SHAPE == "mix" then
      table.insert(prebuilt, wrk.format("POST", "/v2/rpc/get_leaderboard", headers(bearer), READ_BODY))
    elseif SHAPE == "leaderboard-rest" then
      table.insert(prebuilt, wrk.format("GET", REST_READ_PATH, headers(bearer)))
    end
  end
  if SHAPE == "standings" then  -- the public standings route: no credentials, one request for all
    table.insert(prebuilt, wrk.format("GET", STANDINGS_PATH, headers(nil)))
  end
  if SHAPE == "rpc" and #prebuilt == 0 then  -- called with the http key in the path, no session
    table.insert(prebuilt, wrk.format("POST", RPC_PATH, headers(nil), RPC_BODY))
  end
end

local function next_prebuilt()
  at = at + 1
  if at > #prebuilt then at = 1 end
  return prebuilt[at]
end

function request()
  if SHAPE == "auth" then
    counter = counter + 1
    local body = string.format('{"id":"%s-%d-%d"}', PREFIX, tid, counter)
    return wrk.format("POST", "/v2/account/authenticate/custom?create=true", headers(SERVER_AUTH), body)
  elseif SHAPE == "submit" then
    return submission()
  elseif SHAPE == "mix" then
    if math.random() < READ_SHARE then return next_prebuilt() end
    return submission()
  end
  return next_prebuilt()
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses") or {}) do counts[status] = (counts[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(counts) do table.insert(parts, string.format('"%s":%d', status, n)) end
  local e = summary.errors
  io.write(MARKER, string.format(
    '{"requests":%d,"duration_us":%d,"statuses":{%s},' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p99_9":%d,"max":%d,"mean":%f}}\n',
    summary.requests, summary.duration, table.concat(parts, ","),
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean))
end
"""


def lua_string(value: str) -> str:
    """A Lua string literal for any text (bytes outside printable ASCII become decimal escapes)."""
    out = []
    for byte in value.encode():
        char = chr(byte)
        if char in "\\\"":
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def render_script(spec: TrafficSpec, tokens_file: str, threads: int) -> str:
    rpc_path_text = rpc_path(spec.rpc, spec.http_key if spec.rpc_auth == "http-key" else None)
    values = {
        "__SHAPE__": lua_string(spec.shape),
        "__TOKENS_FILE__": lua_string(tokens_file),
        "__THREADS__": str(threads),
        "__PREFIX__": lua_string(spec.unique_prefix),
        "__RPC_PATH__": lua_string(rpc_path_text),
        "__RPC_BODY__": lua_string(rpc_body(spec.payload).decode()),
        "__SERVER_AUTH__": lua_string(basic_auth(spec.server_key)),
        "__READ_SHARE__": repr(float(spec.read_share)),
        "__READ_BODY__": lua_string(rpc_body(leaderboard_payload(spec.read_limit)).decode()),
        "__REST_READ_PATH__": lua_string(f"/v2/leaderboard/{RACING_BOARD}?limit={spec.read_limit}"),
        "__STANDINGS_PATH__": lua_string(standings_path(spec.read_limit)),
        "__RACE_MEAN__": repr(RACE_TIME_MEAN),
        "__RACE_SPREAD__": repr(RACE_TIME_SPREAD),
        "__MARKER__": lua_string(MARKER),
    }
    script = _SCRIPT
    for name, value in values.items():
        script = script.replace(name, value)
    return script
