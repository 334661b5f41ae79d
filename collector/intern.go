package collector

import (
	"bytes"
	"net/netip"
	"sync"
)

// Traffic repeats the same few thousand truncated networks and
// Accept-Language headers, so their stored strings are made once and shared
// instead of allocated per event. Each table is bounded: when full it starts
// over.
const internMax = 1 << 16

type ipStrings struct {
	mu sync.RWMutex
	m  map[netip.Addr]string
}

func (c *ipStrings) get(ip netip.Addr) string {
	c.mu.RLock()
	s, ok := c.m[ip]
	c.mu.RUnlock()
	if ok {
		return s
	}
	s = ip.String()
	c.mu.Lock()
	if c.m == nil || len(c.m) >= internMax {
		c.m = make(map[netip.Addr]string)
	}
	c.m[ip] = s
	c.mu.Unlock()
	return s
}

type languages struct {
	mu sync.RWMutex
	m  map[string]string
}

// get returns language("", header) for an Accept-Language header.
func (c *languages) get(header []byte) string {
	if i := bytes.IndexAny(header, ",;"); i >= 0 {
		header = header[:i]
	}
	c.mu.RLock()
	s, ok := c.m[string(header)]
	c.mu.RUnlock()
	if ok {
		return s
	}
	s = language("", header)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= internMax {
		c.m = make(map[string]string)
	}
	c.m[string(header)] = s
	c.mu.Unlock()
	return s
}
