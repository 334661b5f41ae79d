package safetext

import (
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
