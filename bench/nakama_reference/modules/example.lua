--[[
nakama-py's runtime_modules/example.py for real Nakama (Lua runtime).

RPCs:
  echo               returns the payload unchanged, byte for byte
  storage_roundtrip  stores the payload (a JSON object) for the caller and returns what was stored
  error              raises {"message": ..., "code": N}
(example.py's "slow" is not ported: the Lua runtime has no sleep.)
]]

local nk = require("nakama")

local COLLECTION = "example"
local SYSTEM_USER_ID = "00000000-0000-0000-0000-000000000000"

local function object(payload)
  if payload == nil or payload == "" then payload = "{}" end
  local ok, value = pcall(nk.json_decode, payload)
  if not ok or type(value) ~= "table" or value[1] ~= nil then
    error({ "payload must be a JSON object", 3 })
  end
  return value
end

local function echo(ctx, payload)
  return payload
end

local function storage_roundtrip(ctx, payload)
  local value = object(payload)
  local owner = ctx.user_id
  if owner == nil or owner == "" then owner = SYSTEM_USER_ID end -- http-key calls: the system owns it
  local acks = nk.storage_write({ { collection = COLLECTION, key = "roundtrip", user_id = owner, value = value,
    permission_read = 1, permission_write = 0 } })
  local stored = nk.storage_read({ { collection = COLLECTION, key = "roundtrip", user_id = owner } })
  return nk.json_encode({ version = acks[1].version, user_id = stored[1].user_id, value = stored[1].value })
end

local function raise(ctx, payload)
  local request = object(payload)
  local code = request.code == nil and 13 or request.code
  local message = request.message == nil and "example error" or request.message
  if type(code) ~= "number" or code ~= math.floor(code) or type(message) ~= "string" then
    error({ "code must be an integer and message a string", 3 })
  end
  error({ message, code })
end

nk.register_rpc(echo, "echo")
nk.register_rpc(storage_roundtrip, "storage_roundtrip")
nk.register_rpc(raise, "error")
