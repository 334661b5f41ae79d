package collector

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/dchest/siphash"
)

// TruncateIP zeroes the host part of an address the way Matomo does: level 1,
// 2 or 3 zeroes that many trailing bytes of an IPv4 address and 64, 80 or 104
// bits of an IPv6 one. Any other level is treated as 2, the default.
// IPv4-mapped IPv6 addresses are truncated as IPv4.
func TruncateIP(ip netip.Addr, level uint8) netip.Addr {
	if level < 1 || level > 3 {
		level = 2
	}
	ip = ip.Unmap()
	var bits int
	if ip.Is4() {
		bits = 32 - 8*int(level)
	} else if ip.Is6() {
		bits = 128 - []int{64, 80, 104}[level-1]
	} else {
		return netip.Addr{}
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return netip.Addr{}
	}
	return p.Addr()
}

// saltSource is where daily salts come from: storage, shared by all collectors.
type saltSource interface {
	Salt(ctx context.Context, t time.Time) ([]byte, error)
}

// keyring holds the daily salts the collector needs in memory: yesterday's
// (so a visit can continue across midnight), today's and tomorrow's (so the
// midnight rotation needs no round-trip on the hot path).
type keyring struct {
	mu        sync.RWMutex
	salts     map[int64][2]uint64 // UTC day number → SipHash key
	ephemeral bool                // make missing days' keys in memory (demo only)
}

func dayNumber(t time.Time) int64 { return t.Unix() / 86400 }

// refresh loads the salts around now from the source and forgets older ones.
func (k *keyring) refresh(ctx context.Context, src saltSource, now time.Time) error {
	fresh := map[int64][2]uint64{}
	for _, d := range []int64{-1, 0, 1} {
		t := now.Add(time.Duration(d) * 24 * time.Hour)
		salt, err := src.Salt(ctx, t)
		if err != nil {
			return fmt.Errorf("cannot load salt: %w", err)
		}
		if len(salt) < 16 {
			return fmt.Errorf("BUG: salt of %d bytes, want at least 16", len(salt))
		}
		fresh[dayNumber(t)] = [2]uint64{binary.LittleEndian.Uint64(salt), binary.LittleEndian.Uint64(salt[8:])}
	}
	k.mu.Lock()
	k.salts = fresh
	k.mu.Unlock()
	return nil
}

// key returns the SipHash key of t's UTC day.
func (k *keyring) key(t time.Time) ([2]uint64, bool) {
	k.mu.RLock()
	key, ok := k.salts[dayNumber(t)]
	k.mu.RUnlock()
	if ok || !k.ephemeral {
		return key, ok
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok = k.salts[dayNumber(t)]; !ok {
		if k.salts == nil {
			k.salts = map[int64][2]uint64{}
		}
		key = [2]uint64{rand.Uint64(), rand.Uint64()}
		k.salts[dayNumber(t)] = key
	}
	return key, true
}

// visitorID is the keyed hash of (site, full IP, User-Agent) under a day's
// salt. Once the salt is deleted the hash cannot be recomputed from an IP and
// User-Agent, so it identifies nobody.
func visitorID(key [2]uint64, site uint32, ip netip.Addr, ua []byte) uint64 {
	var buf [4 + 16 + 512]byte
	binary.LittleEndian.PutUint32(buf[:4], site)
	a := ip.As16()
	copy(buf[4:20], a[:])
	n := copy(buf[20:], ua)
	return siphash.Hash(key[0], key[1], buf[:20+n])
}
