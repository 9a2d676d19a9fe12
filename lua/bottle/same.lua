-- Whether two values are the same data: equal scalars, or tables with the
-- same keys whose values are the same, all the way down (configs and their
-- facts, compared to tell what a policy or a live change altered).
return function(a, b)
   local function same(x, y)
      if type(x) ~= "table" or type(y) ~= "table" then return x == y end
      for k, v in pairs(x) do if not same(v, y[k]) then return false end end
      for k in pairs(y) do if x[k] == nil then return false end end
      return true
   end
   return same(a, b)
end
