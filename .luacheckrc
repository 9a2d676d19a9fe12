-- luacheck's settings for `make lint`.
std = "lua54"
max_line_length = 130
-- Hooks and callbacks take documented arguments they need not all use.
unused_args = false
-- Deliberately broken or hostile policies: the specs load them to show
-- that the launcher refuses them.
exclude_files = { "spec/fixtures/policies/**", "build/**", "fuzz/corpus/**" }
-- Specs hold long literal lines (expected messages, fixtures).
files["spec/**"] = { std = "+busted", max_line_length = false }
-- The libFuzzer harness defines the limit the targets read.
files["fuzz/targets.lua"] = { globals = { "fuzz_limit" } }
