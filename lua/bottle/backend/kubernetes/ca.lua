-- The bottle's TLS interception CA, made on the launcher's machine with
-- openssl (the Docker backend runs `pipelock tls init` in a throwaway
-- container; a cluster may have no node for such a Job while the launcher
-- waits, and the pair must become a Secret anyway).  It is what pipelock's
-- certgen.LoadCA accepts: an ECDSA P-256 key in SEC1 "EC PRIVATE KEY" PEM,
-- a certificate with CA:TRUE (path length 0) and keyUsage keyCertSign.
-- The files go to the 0700 stage directory (the key 0600, under umask 077);
-- only file paths reach openssl's command line.
local core = require "bottle.core"

local M = {}

M.DAYS = 30

local function read(path)
   local text, err, code = core.read_file(path, { max_bytes = 65536 })
   if not text then return nil, err, code end
   return text
end

-- make(state [, spawn]) → {cert_pem, key_pem, cert_path, key_path} | nil, message, code
function M.make(state, spawn)
   spawn = spawn or core.spawn
   local dir = state.stage.dir
   local cert_path, key_path = dir .. "/ca.pem", dir .. "/ca-key.pem"
   local subject = "/O=claude-bottle/CN=claude-bottle CA " .. state.plan.slug
   local status, msg, code = spawn({
      "sh", "-c",
      'umask 077 && openssl ecparam -name prime256v1 -genkey -noout -out "$1" '
      .. '&& openssl req -x509 -new -sha256 -key "$1" -out "$2" -days "$3" -subj "$4" '
      .. '-addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" '
      .. '&& chmod 644 "$2"',
      "sh", key_path, cert_path, tostring(M.DAYS), subject,
   }, { stdin = "null", stdout = "null" })
   if not status then return nil, "openssl: " .. tostring(msg), code end
   if status ~= 0 then return nil, ("openssl exited with %d making the CA (is openssl installed?)"):format(status), "ca" end
   local cert, key
   cert, msg, code = read(cert_path)
   if not cert then return nil, msg, code end
   key, msg, code = read(key_path)
   if not key then return nil, msg, code end
   if not key:find("-----BEGIN EC PRIVATE KEY-----", 1, true) then
      return nil, "openssl did not write a SEC1 EC key (pipelock needs one)", "ca"
   end
   return { cert_pem = cert, key_pem = key, cert_path = cert_path, key_path = key_path }
end

return M
