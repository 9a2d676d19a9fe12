module claude-bottle/scripts/re2match

go 1.22
