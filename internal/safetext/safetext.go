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
	if PrintableASCII(s) || utf8.ValidString(s) && !HasControl(s) {
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

// PrintableASCII reports whether s is all printable ASCII (' ' to '~'),
// which Clean keeps as is. It checks eight bytes at a time: nearly every
// string a request sends is like that, and this is on the hot path.
func PrintableASCII[T string | []byte](s T) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		// A byte below ' ' borrows in x-' '; a byte of 0x7f or more has its
		// high bit set in x or in x+1. Carries and borrows only start at a
		// byte that is already out of range, so neither test is fooled.
		if (x-' '*ones)&^x&highs != 0 || (x+ones|x)&highs != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] < ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
