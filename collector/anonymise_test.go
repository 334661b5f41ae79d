package collector

import (
	"net"
	"net/netip"
	"testing"
)

func TestTruncateIP(t *testing.T) {
	f := func(in string, level uint8, want string) {
		t.Helper()
		got := TruncateIP(netip.MustParseAddr(in), level)
		if got.String() != want {
			t.Errorf("TruncateIP(%s, %d) = %s, want %s", in, level, got, want)
		}
	}
	f("203.0.113.77", 1, "203.0.113.0")
	f("203.0.113.77", 2, "203.0.0.0")
	f("203.0.113.77", 3, "203.0.0.0")
	f("203.0.113.77", 0, "203.0.0.0") // invalid level: the default, 2
	f("::ffff:203.0.113.77", 1, "203.0.113.0")
	f("2001:db8:1234:5678:9abc:def0:1234:5678", 1, "2001:db8:1234:5678::")
	f("2001:db8:1234:5678:9abc:def0:1234:5678", 2, "2001:db8:1234::")
	f("2001:db8:1234:5678:9abc:def0:1234:5678", 3, "2001:d00::") // 24 bits stay
	// Level 3 truncates three bytes of IPv4: only the first byte stays.
	if got := TruncateIP(netip.MustParseAddr("203.0.113.77"), 3).As4(); got != [4]byte{203, 0, 0, 0} {
		t.Errorf("level 3 kept %v", got)
	}
}

func FuzzTruncateIP(f *testing.F) {
	f.Add([]byte{203, 0, 113, 77}, uint8(2))
	f.Add([]byte(net.ParseIP("2001:db8::1")), uint8(1))
	f.Fuzz(func(t *testing.T, raw []byte, level uint8) {
		ip, ok := netip.AddrFromSlice(raw)
		if !ok {
			return
		}
		got := TruncateIP(ip, level)
		u := ip.Unmap()
		eff := level
		if eff < 1 || eff > 3 {
			eff = 2
		}
		zeroBits := 8 * int(eff)
		if u.Is6() {
			zeroBits = []int{64, 80, 104}[eff-1]
		}
		if got.BitLen() != u.BitLen() {
			t.Fatalf("TruncateIP(%s) changed family: %s", ip, got)
		}
		b := got.AsSlice()
		for i := got.BitLen() - zeroBits; i < got.BitLen(); i++ {
			if b[i/8]&(0x80>>(i%8)) != 0 {
				t.Fatalf("TruncateIP(%s, %d) = %s keeps host bit %d", ip, level, got, i)
			}
		}
		if p, _ := u.Prefix(got.BitLen() - zeroBits); p.Addr() != got {
			t.Fatalf("TruncateIP(%s, %d) = %s, want network %s", ip, level, got, p.Addr())
		}
	})
}

func TestClientIP(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	peer := func(s string) net.Addr { return &net.TCPAddr{IP: net.ParseIP(s), Port: 1234} }
	f := func(p, xff, fwd string, proxies []netip.Prefix, want string) {
		t.Helper()
		got := clientIP(peer(p), []byte(xff), []byte(fwd), proxies)
		if got.String() != want {
			t.Errorf("clientIP(peer %s, xff %q, fwd %q) = %s, want %s", p, xff, fwd, got, want)
		}
	}
	f("198.51.100.7", "", "", proxies, "198.51.100.7")
	f("198.51.100.7", "203.0.113.9", "", proxies, "198.51.100.7")               // untrusted peer: header ignored
	f("198.51.100.7", "203.0.113.9", "", nil, "198.51.100.7")                   // no proxies configured
	f("10.1.2.3", "203.0.113.9", "", proxies, "203.0.113.9")                    // trusted peer
	f("10.1.2.3", "1.1.1.1, 203.0.113.9, 10.9.9.9", "", proxies, "203.0.113.9") // right-most untrusted hop
	f("10.1.2.3", "garbage", "", proxies, "10.1.2.3")
	f("192.0.2.1", "", `for="[2001:db8::7]:4711";proto=https`, proxies, "2001:db8::7")
	f("192.0.2.1", "", "for=203.0.113.60:8080, for=10.0.0.2", proxies, "203.0.113.60")
	f("::ffff:10.1.2.3", "203.0.113.9", "", proxies, "203.0.113.9")
	if _, err := ParseTrustedProxies("10.0.0.0/33"); err == nil {
		t.Error("an invalid CIDR was accepted")
	}
}

func FuzzClientIP(f *testing.F) {
	proxies, _ := ParseTrustedProxies("127.0.0.0/8,::1")
	f.Add("203.0.113.9, 127.0.0.1", `for="[2001:db8::7]:4711"`)
	f.Fuzz(func(t *testing.T, xff, fwd string) {
		ip := clientIP(&net.TCPAddr{IP: net.ParseIP("127.0.0.1")}, []byte(xff), []byte(fwd), proxies)
		if !ip.IsValid() {
			t.Fatalf("clientIP returned an invalid address for xff %q fwd %q", xff, fwd)
		}
	})
}
