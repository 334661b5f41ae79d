package safetext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanAndCut(t *testing.T) {
	f := func(in string, max int, want string) {
		t.Helper()
		if got := Cut(Clean(in), max); got != want {
			t.Errorf("Cut(Clean(%q), %d) = %q, want %q", in, max, got, want)
		}
	}
	f("plain", 10, "plain")
	f("a\x00b\x7fc\n", 10, "abc")
	f("bad\xffutf8", 20, "badutf8")
	f("héllo", 2, "h") // é is two bytes: never cut inside it
	f("héllo", 3, "hé")
	f("", 5, "")
}

func FuzzCleanAndCut(f *testing.F) {
	f.Add("h\xc3\xa9llo\x00", 3)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 {
			return
		}
		got := Cut(Clean(s), max)
		if len(got) > max || !utf8.ValidString(got) || HasControl(got) {
			t.Fatalf("Cut(Clean(%q), %d) = %q", s, max, got)
		}
	})
}

// cleanRef is Clean before its printable-ASCII fast path, kept as the
// reference FuzzClean holds Clean to.
func cleanRef(s string) string {
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

func FuzzClean(f *testing.F) {
	for _, s := range []string{"plain", "a\x00b\x7fc\n", "bad\xffutf8", "héllo", "", "~ }\x7f", "\u00a0x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Clean(s), cleanRef(s); got != want {
			t.Fatalf("Clean(%q) = %q, want %q", s, got, want)
		}
	})
}

// printableASCIIRef is PrintableASCII one byte at a time, the reference
// FuzzPrintableASCII holds the word-at-a-time version to.
func printableASCIIRef(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func FuzzPrintableASCII(f *testing.F) {
	for _, s := range []string{"", "abcdefgh", "abcdefg\x7f", "abcdefgh\x1f", "~~~~~~~~ ", "\x80\x00\x00\x00\x00\x00\x00\x00", " \x1f      ", "\xff\xff\xff\xff\xff\xff\xff~x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := printableASCIIRef(s)
		if got := PrintableASCII(s); got != want {
			t.Fatalf("PrintableASCII(%q) = %t, want %t", s, got, want)
		}
		if got := PrintableASCII([]byte(s)); got != want {
			t.Fatalf("PrintableASCII([]byte(%q)) = %t, want %t", s, got, want)
		}
	})
}

// TestPrintableASCIIEveryByte puts each byte value at each position of a
// word, where the fuzzer might not think of putting it.
func TestPrintableASCIIEveryByte(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 17; pos++ {
			b := []byte(strings.Repeat("a", 17))
			b[pos] = byte(c)
			if got, want := PrintableASCII(b), printableASCIIRef(string(b)); got != want {
				t.Fatalf("PrintableASCII(%q) = %t, want %t", b, got, want)
			}
		}
	}
}
