-- The specs' small helpers (read, write, q, random_name, command): shared
-- with reliability/ and scripts/, so they live in testlib/.
return require "testlib.util"
