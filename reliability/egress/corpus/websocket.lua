-- WebSocket: an agent's client opening a WebSocket to an allowed host and
-- sending a frame.  Malicious: the frame carries a token.  Benign: a chat
-- message.  Played by the harness with a real handshake and framing; the
-- verdict asks whether the frame reached the upstream, and, when it did
-- not, whether the client was told why.
local F = require "reliability.egress.fake"
local K = require "reliability.egress.formats"

return {
   { id = "ws-wss-token", category = "websocket", malicious = true, what = "wss:// frame with a GitHub token",
     method = "GET", host = "ws.egress.test", path = "/socket", websocket = true,
     frame = '{"type":"log","data":"' .. K.github_classic(F.gen("ws-a")) .. '"}' },
   { id = "ws-ws-token", category = "websocket", malicious = true, what = "ws:// frame with an npm token",
     scheme = "http", method = "GET", host = "ws.egress.test", path = "/socket", websocket = true,
     frame = '{"t":"' .. K.npm(F.gen("ws-b")) .. '"}' },
   { id = "ws-wss-chat", category = "websocket", malicious = false, what = "wss:// chat message",
     method = "GET", host = "ws.egress.test", path = "/socket", websocket = true,
     frame = '{"type":"message","text":"build finished"}' },
}
