package collector

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// ParseTrustedProxies parses a comma-separated list of CIDRs or addresses.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("invalid trusted proxy %q: %w", f, err)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("invalid trusted proxy %q: %w", f, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func trusted(ip netip.Addr, proxies []netip.Prefix) bool {
	for _, p := range proxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// clientIP returns the visitor's address: the socket's peer, or, when the
// peer is a trusted proxy, the right-most address in X-Forwarded-For (or
// Forwarded) that is not itself a trusted proxy. Headers from anyone else
// are ignored, so a visitor cannot choose the address it is counted under.
func clientIP(peer net.Addr, xff, forwarded []byte, proxies []netip.Prefix) netip.Addr {
	var ip netip.Addr
	if tcp, ok := peer.(*net.TCPAddr); ok {
		ip, _ = netip.AddrFromSlice(tcp.IP)
	}
	ip = ip.Unmap()
	if len(proxies) == 0 || !trusted(ip, proxies) {
		return ip
	}
	hops := forwardedFor(xff, forwarded)
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			return ip // a malformed hop: stop at the last address we can trust
		}
		a = a.Unmap()
		if !trusted(a, proxies) {
			return a
		}
		ip = a
	}
	return ip
}

// forwardedFor lists the hops of X-Forwarded-For, or of the for= parameters of
// the standard Forwarded header when X-Forwarded-For is absent.
func forwardedFor(xff, forwarded []byte) []string {
	var hops []string
	if len(xff) > 0 {
		for _, f := range bytes.Split(xff, []byte(",")) {
			if f = bytes.TrimSpace(f); len(f) > 0 {
				hops = append(hops, string(f))
			}
		}
		return hops
	}
	for _, elem := range bytes.Split(forwarded, []byte(",")) {
		for _, pair := range bytes.Split(elem, []byte(";")) {
			k, v, ok := bytes.Cut(bytes.TrimSpace(pair), []byte("="))
			if !ok || !bytes.EqualFold(k, []byte("for")) {
				continue
			}
			s := strings.Trim(string(v), `"`)
			// for="[2001:db8::1]:4711" and for=192.0.2.43:47011 carry ports.
			if strings.HasPrefix(s, "[") {
				if end := strings.IndexByte(s, ']'); end > 0 {
					s = s[1:end]
				}
			} else if strings.Count(s, ":") == 1 {
				s, _, _ = strings.Cut(s, ":")
			}
			hops = append(hops, s)
		}
	}
	return hops
}
