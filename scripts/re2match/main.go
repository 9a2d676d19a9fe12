// re2match answers, for the scripts that turn a secret scanner's rules into
// DLP patterns for pipelock, whether Go's regexp (pipelock's engine) compiles
// a pattern and which texts it finds in, the way pipelock's DLP runs it:
// "(?i)" put in front, and control characters (newlines too) taken out of
// the text first (internal/normalize ForDLP).
//
// Input: one JSON object per line, {"regex": "...", "texts": ["...", ...]}.
// Output: one per line, {"error": "..."} or {"found": [true, false, ...]}.
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"strings"
)

type query struct {
	Regex string   `json:"regex"`
	Texts []string `json:"texts"`
}

type answer struct {
	Error string `json:"error,omitempty"`
	Found []bool `json:"found,omitempty"`
}

func stripControl(s string) string {
	return strings.Map(func(r rune) rune {
		if r <= 0x1F || r == 0x7F || (r >= 0x80 && r <= 0x9F) {
			return -1
		}
		return r
	}, s)
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var q query
		var a answer
		if err := json.Unmarshal(in.Bytes(), &q); err != nil {
			a.Error = "bad input: " + err.Error()
		} else if re, err := regexp.Compile("(?i)" + q.Regex); err != nil {
			a.Error = err.Error()
		} else {
			a.Found = make([]bool, len(q.Texts))
			for i, t := range q.Texts {
				a.Found[i] = re.MatchString(stripControl(t))
			}
		}
		if err := out.Encode(a); err != nil {
			os.Exit(1)
		}
	}
}
