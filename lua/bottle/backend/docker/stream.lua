-- Docker's multiplexed stream (exec output and container logs when the
-- container has no TTY): frames of an 8-byte header, [stream, 0, 0, 0,
-- size as big-endian uint32], then `size` bytes. stream 1 is stdout, 2 stderr.
local M = {}

local NAMES = { [0] = "stdin", [1] = "stdout", [2] = "stderr" }

-- demuxer(on_frame) → feed(chunk): call feed with the bytes as they arrive, in
-- any chunking; on_frame(stream_name, payload) is called once per whole frame.
-- Once on_frame returns false, feed returns false (to stop a transfer).
function M.demuxer(on_frame)
   local buffer = ""
   local stopped = false
   return function(chunk)
      buffer = buffer .. chunk
      while not stopped and #buffer >= 8 do
         local kind, size = string.unpack(">B xxx I4", buffer)
         if #buffer < 8 + size then break end
         local payload = buffer:sub(9, 8 + size)
         buffer = buffer:sub(9 + size)
         if on_frame(NAMES[kind] or "stdout", payload) == false then stopped = true end
      end
      if stopped then return false end
   end
end

-- split(data) → stdout, stderr: a whole multiplexed body at once.
function M.split(data)
   local out, err = {}, {}
   M.demuxer(function(name, payload)
      if name == "stderr" then err[#err + 1] = payload else out[#out + 1] = payload end
   end)(data)
   return table.concat(out), table.concat(err)
end

-- line_splitter(on_line) → feed(chunk): whole lines (without "\n") to on_line.
function M.line_splitter(on_line)
   local partial = ""
   return function(chunk)
      partial = partial .. chunk
      local rest = 1
      for line, next_at in partial:gmatch("([^\n]*)\n()") do
         on_line(line)
         rest = next_at
      end
      partial = partial:sub(rest)
   end
end

return M
