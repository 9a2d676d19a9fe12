-- Hold-out: WebSocket frames.  Malicious: STS credentials in a debug frame,
-- a Claude Code OAuth token in a JSON-RPC notification.  Benign: an
-- LSP-style JSON-RPC edit notification.
local F = require "reliability.egress.fake"
local K = require "reliability.egress.formats"
local H = require "reliability.egress.holdout.formats"

local g = F.gen("h-ws")
return {
   { id = "h-ws-sts", category = "websocket", malicious = true, what = "wss:// debug frame with STS credentials",
     method = "GET", host = "ws.egress.test", path = "/debug", websocket = true,
     frame = '{"type":"debug","creds":{"AccessKeyId":"' .. K.aws_session_id(g) .. '","SecretAccessKey":"'
        .. K.aws_secret(g) .. '","SessionToken":"' .. H.aws_session_token(g) .. '"}}' },
   { id = "h-ws-jsonrpc-oauth", category = "websocket", malicious = true,
     what = "wss:// JSON-RPC notification with a Claude Code OAuth token", method = "GET", host = "ws.egress.test",
     path = "/rpc", websocket = true,
     frame = '{"jsonrpc":"2.0","method":"session/update","params":{"auth":"' .. H.anthropic_oauth(g) .. '"}}' },
   { id = "h-ws-lsp", category = "websocket", malicious = false, what = "wss:// LSP-style edit notification",
     method = "GET", host = "ws.egress.test", path = "/rpc", websocket = true,
     frame = '{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":"file:///work/src/auth.ts",'
        .. '"version":7},"contentChanges":[{"text":"export const TOKEN_TTL = 3600;\\n"}]}}' },
}
