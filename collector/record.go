package collector

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/shade-analytics/shade/storage"
)

// A spool record is one accepted event and the session rows it caused, in a
// compact binary form: a version byte, then every field as a uvarint or a
// length-prefixed string. It holds exactly what storage gets: no full IP and
// no User-Agent can be in it, because storage.Event has no field for them.

const recordVersion = 1

type encoder []byte

func (e *encoder) uv(v uint64) { *e = binary.AppendUvarint(*e, v) }
func (e *encoder) str(s string) {
	e.uv(uint64(len(s)))
	*e = append(*e, s...)
}
func (e *encoder) strs(ss []string) {
	e.uv(uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

// encodeRecord appends the record for ev and sessions to dst.
func encodeRecord(dst []byte, ev *storage.Event, sessions []storage.Session) []byte {
	e := encoder(dst)
	e = append(e, recordVersion)
	e.uv(uint64(ev.SiteID))
	e.uv(uint64(ev.Timestamp.Unix()))
	for _, s := range [...]string{ev.Name, ev.Hostname, ev.Pathname, ev.Title, ev.ReferrerHost, ev.ReferrerPath,
		ev.ReferrerSource, ev.Channel, ev.UTMSource, ev.UTMMedium, ev.UTMCampaign, ev.UTMContent, ev.UTMTerm,
		ev.Country, ev.Browser, ev.BrowserVersion, ev.OS, ev.OSVersion, ev.Device, ev.Screen, ev.Language, ev.IP} {
		e.str(s)
	}
	e.uv(ev.VisitorID)
	e.uv(ev.SessionID)
	e.strs(ev.PropKeys)
	e.strs(ev.PropValues)
	e.uv(uint64(ev.EngagementMS))
	e.uv(uint64(ev.ScrollDepth))
	e.uv(uint64(len(sessions)))
	for i := range sessions {
		v := &sessions[i]
		e.uv(uint64(v.SiteID))
		e.uv(v.SessionID)
		e.uv(v.VisitorID)
		if v.Sign < 0 {
			e = append(e, 0)
		} else {
			e = append(e, 1)
		}
		e.uv(uint64(v.Start.Unix()))
		e.uv(uint64(v.End.Unix()))
		e.uv(uint64(v.Duration))
		e.uv(uint64(v.Pageviews))
		e.uv(uint64(v.Events))
		e.uv(uint64(v.Interactions))
		for _, s := range [...]string{v.EntryPage, v.ExitPage, v.Hostname, v.ReferrerHost, v.ReferrerPath,
			v.ReferrerSource, v.Channel, v.UTMSource, v.UTMMedium, v.UTMCampaign, v.UTMContent, v.UTMTerm,
			v.Country, v.Browser, v.BrowserVersion, v.OS, v.OSVersion, v.Device, v.Screen, v.Language} {
			e.str(s)
		}
	}
	return e
}

type decoder struct {
	b   []byte
	err error
}

var errTruncated = errors.New("truncated record")

func (d *decoder) uv() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errTruncated
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) u32() uint32 {
	v := d.uv()
	if v > 1<<32-1 && d.err == nil {
		d.err = errors.New("value out of range")
	}
	return uint32(v)
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.err = errTruncated
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) str() string {
	n := d.uv()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errTruncated
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) strs() []string {
	n := d.uv()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errTruncated
		return nil
	}
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.str()
	}
	return out
}

func (d *decoder) time() time.Time {
	v := d.uv()
	if v > 1<<40 && d.err == nil {
		d.err = errors.New("timestamp out of range")
	}
	return time.Unix(int64(v), 0).UTC()
}

// decodeRecord appends the event and session rows of a record to b.
func decodeRecord(rec []byte, b *storage.Batch) error {
	d := decoder{b: rec}
	if v := d.byte(); d.err == nil && v != recordVersion {
		return fmt.Errorf("unknown spool record version %d", v)
	}
	var ev storage.Event
	ev.SiteID = d.u32()
	ev.Timestamp = d.time()
	for _, p := range [...]*string{&ev.Name, &ev.Hostname, &ev.Pathname, &ev.Title, &ev.ReferrerHost, &ev.ReferrerPath,
		&ev.ReferrerSource, &ev.Channel, &ev.UTMSource, &ev.UTMMedium, &ev.UTMCampaign, &ev.UTMContent, &ev.UTMTerm,
		&ev.Country, &ev.Browser, &ev.BrowserVersion, &ev.OS, &ev.OSVersion, &ev.Device, &ev.Screen, &ev.Language, &ev.IP} {
		*p = d.str()
	}
	ev.VisitorID = d.uv()
	ev.SessionID = d.uv()
	ev.PropKeys = d.strs()
	ev.PropValues = d.strs()
	ev.EngagementMS = d.u32()
	if sd := d.uv(); sd <= 100 {
		ev.ScrollDepth = uint8(sd)
	} else if d.err == nil {
		d.err = errors.New("scroll depth out of range")
	}
	if len(ev.PropKeys) != len(ev.PropValues) && d.err == nil {
		d.err = errors.New("props keys and values differ in number")
	}
	n := d.uv()
	if n > 16 && d.err == nil {
		d.err = errors.New("too many session rows")
	}
	var sessions []storage.Session
	for i := uint64(0); i < n && d.err == nil; i++ {
		var v storage.Session
		v.SiteID = d.u32()
		v.SessionID = d.uv()
		v.VisitorID = d.uv()
		v.Sign = 1
		if d.byte() == 0 {
			v.Sign = -1
		}
		v.Start = d.time()
		v.End = d.time()
		v.Duration = d.u32()
		v.Pageviews = d.u32()
		v.Events = d.u32()
		v.Interactions = d.u32()
		for _, p := range [...]*string{&v.EntryPage, &v.ExitPage, &v.Hostname, &v.ReferrerHost, &v.ReferrerPath,
			&v.ReferrerSource, &v.Channel, &v.UTMSource, &v.UTMMedium, &v.UTMCampaign, &v.UTMContent, &v.UTMTerm,
			&v.Country, &v.Browser, &v.BrowserVersion, &v.OS, &v.OSVersion, &v.Device, &v.Screen, &v.Language} {
			*p = d.str()
		}
		sessions = append(sessions, v)
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = errors.New("trailing bytes")
	}
	if d.err != nil {
		return fmt.Errorf("cannot decode spool record: %w", d.err)
	}
	b.Events = append(b.Events, ev)
	b.Sessions = append(b.Sessions, sessions...)
	return nil
}
