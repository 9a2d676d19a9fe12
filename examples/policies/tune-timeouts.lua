-- Lets a tunnel through pipelock sit idle for two hours instead of one.
-- pipelock 2.3.0 measures idle time per direction, so a long silent stretch
-- in one direction (a model thinking, a long download with no upload) closes
-- the tunnel; the launcher already raises pipelock's default of 120 s to
-- 3600 s.  Raise it further here if your sessions still get cut.
--
-- The launcher checks the config again after this hook (pipelock 2.3.0's
-- schema plus its own rules), so a typo in a key is reported, not written.
local IDLE_TIMEOUT_SECONDS = 7200

return {
   config = function(cfg, ctx)
      cfg.forward_proxy.idle_timeout_seconds = IDLE_TIMEOUT_SECONDS
   end,
}
