// Package safetext makes strings that came from outside safe to store and
// render: valid UTF-8, no control characters, bounded in size. The collector
// and its referrer package both store such strings.
package safetext

import (
	"strings"
	"unicode/utf8"
)

// HasControl reports whether s holds an ASCII control character.
func HasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// Clean returns s without invalid UTF-8 and control characters; it
// allocates only when something must go.
func Clean(s string) string {
	if utf8.ValidString(s) && !HasControl(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || r < ' ' || r == 0x7f {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Cut shortens valid UTF-8 s to at most max bytes on a rune boundary.
func Cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
