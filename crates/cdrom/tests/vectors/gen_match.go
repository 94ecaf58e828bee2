//go:build ignore

// Regenerates go-filepath-match.tsv: the verdict of Go's own path/filepath.Match (the
// function Packer's cd_files globbing is built on) for every pattern × name pair below.
//
//	go run gen_match.go > go-filepath-match.tsv
package main

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
)

func esc(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, "\t", `\t`)
	return strings.ReplaceAll(s, "\n", `\n`)
}

func main() {
	patterns := []string{
		"*", "**", "*.cfg", "a*", "*a", "a*b", "a*b*c", "*x*", "a?c", "???", "?",
		"[abc]", "[a-c]x", "[^a-c]x", "[!a]", "[a-]", "[-a]", "[]a]", "[]", "[^]", "[",
		"a[", "[a", `\*`, `\`, `a\`, `[\]]`, `[\-]`, `[\\]`, "[z-a]", "[a-a]",
		"*.[ch]", "*.[^ch]", "user-data", "meta-data", "ks.cfg", "*-data", "é*", "?é",
		"[à-ü]*", "*?", "?*?", "a**b", "*[", "a*[", "[]]", `[a\`, "x[a-c", "[^^]",
		"Test*", "test*", "*.TMP", "*.tmp", ".*", "*.", "a.*.c",
	}
	names := []string{
		"", "a", "b", "c", "x", "abc", "ab", "acb", "axbyc", "a.cfg", "ks.cfg", "user-data",
		"meta-data", "vendor-data", "*", "-", "]", "!", "^", `\`, "ax", "bx", "dx", "é", "éa",
		"aé", "ñ", "file.c", "file.h", "file.o", "Test-Test-Test5.tmp", "test cd files.tmp",
		".hidden", "a.b.c", "zz", "tab\there", "line\nbreak",
	}
	fmt.Printf("# pattern\tname\tresult: Go %s path/filepath.Match, see gen_match.go\n", runtime.Version())
	for _, p := range patterns {
		for _, n := range names {
			ok, err := filepath.Match(p, n)
			result := fmt.Sprint(ok)
			if err != nil {
				result = "bad"
			}
			fmt.Printf("%s\t%s\t%s\n", esc(p), esc(n), result)
		}
	}
}
