-- Second hold-out: WebSocket frames.  Malicious: a terminal-sharing frame
-- echoing an `export` of a Fireworks key, and a Socket.IO event carrying a
-- Slack configuration token.  Benign: a Socket.IO presence event.
local F = require "reliability.egress.fake"
local H = require "reliability.egress.holdout2.formats"

local g = F.gen("h2-ws")
return {
   { id = "h2-ws-terminal", category = "websocket", malicious = true,
     what = "wss:// terminal-sharing frame echoing an export of a Fireworks key", method = "GET", host = "ws.egress.test",
     path = "/terminal", websocket = true,
     frame = '["stdout","$ export FIREWORKS_API_KEY=' .. H.fireworks(g) .. '\\r\\n$ "]' },
   { id = "h2-ws-socketio", category = "websocket", malicious = true,
     what = "wss:// Socket.IO event with a Slack configuration token", method = "GET", host = "ws.egress.test",
     path = "/socket.io/?EIO=4&transport=websocket", websocket = true,
     frame = '42["sync",{"workspace":"acme","token":"' .. H.slack_config(g) .. '"}]' },
   { id = "h2-ws-presence", category = "websocket", malicious = false, what = "wss:// Socket.IO presence event",
     method = "GET", host = "ws.egress.test", path = "/socket.io/?EIO=4&transport=websocket", websocket = true,
     frame = '42["presence",{"user":"dev","status":"typing","file":"src/secrets/README.md"}]' },
}
