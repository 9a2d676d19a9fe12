-- Refuses to launch an agent outside the directories listed below, so that
-- an agent started by mistake in $HOME or / never sees those files.
--
-- EDIT ALLOWED_DIRS: absolute paths, without a trailing slash.  A launch is
-- allowed in a listed directory and anywhere below it.  (Policies cannot read
-- the environment, so $HOME cannot be used here: write the path out.)
local ALLOWED_DIRS = {
   "/work",
}

local function is_under(path, dir)
   return path == dir or path:sub(1, #dir + 1) == dir .. "/"
end

return {
   plan = function(plan, ctx)
      for _, dir in ipairs(ALLOWED_DIRS) do
         if is_under(ctx.cwd, dir) then return true end
      end
      return nil, ("%s is not under %s (edit ALLOWED_DIRS in only-in-dir.lua to allow it)")
         :format(ctx.cwd, table.concat(ALLOWED_DIRS, " or "))
   end,
}
