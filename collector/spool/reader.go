package spool

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Checkpoint returns the last saved checkpoint.
func (s *Spool) Checkpoint() Checkpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.check
}

// Read returns up to max records (and about maxBytes) starting at from, all
// durable, and the position after them. It moves across segment boundaries
// and skips, with a log line and a metric, the rest of a segment whose data
// fails its checksum.
func (s *Spool) Read(from Position, max int, maxBytes int) ([][]byte, Position, error) {
	var out [][]byte
	size := 0
	pos := from
	for len(out) < max && size < maxBytes {
		s.mu.Lock()
		committed := s.committed
		segEnd, exists := s.segSizes[pos.Segment]
		var next uint64
		for seg := range s.segSizes {
			if seg > pos.Segment && (next == 0 || seg < next) {
				next = seg
			}
		}
		s.mu.Unlock()
		if pos.Segment == committed.Segment {
			segEnd = committed.Offset
		}
		if !exists || pos.Offset >= segEnd {
			if pos.Segment >= committed.Segment || next == 0 {
				return out, pos, nil // caught up
			}
			pos = Position{next, 0}
			continue
		}
		recs, end, err := s.readSegment(pos, segEnd, max-len(out), maxBytes-size)
		if err != nil {
			return out, pos, err
		}
		for _, r := range recs {
			size += len(r)
		}
		out = append(out, recs...)
		if end == pos {
			break
		}
		pos = end
	}
	return out, pos, nil
}

// readSegment reads frames of one segment between pos and limit.
func (s *Spool) readSegment(pos Position, limit int64, max, maxBytes int) ([][]byte, Position, error) {
	f, err := os.Open(s.segPath(pos.Segment))
	if err != nil {
		return nil, pos, fmt.Errorf("cannot open spool segment: %w", err)
	}
	defer f.Close()
	want := limit - pos.Offset
	if cap := int64(maxBytes) + MaxRecord + frameHeader; want > cap {
		want = cap
	}
	data := make([]byte, want)
	n, err := f.ReadAt(data, pos.Offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, pos, fmt.Errorf("cannot read spool segment: %w", err)
	}
	data = data[:n]
	var out [][]byte
	off, size := 0, 0
	for len(out) < max && size < maxBytes && off < len(data) {
		payload, fl, ok := parseFrame(data[off:])
		if !ok {
			if int64(off)+int64(len(data)-off) < want {
				break // the frame goes on past what we read; read it next time
			}
			s.corrupt.Inc()
			s.log.Error("skipping a corrupt spool segment tail", "segment", segName(pos.Segment), "offset", pos.Offset+int64(off),
				"bytes", limit-pos.Offset-int64(off))
			return out, Position{pos.Segment, limit}, nil
		}
		out = append(out, payload)
		off += fl
		size += len(payload)
	}
	return out, Position{pos.Segment, pos.Offset + int64(off)}, nil
}

// SetInFlight records, durably, that the records up to end are being shipped
// as batch id; Commit clears it.
func (s *Spool) SetInFlight(end Position, id uint64) error {
	s.mu.Lock()
	cp := s.check
	s.mu.Unlock()
	cp.InFlight, cp.InFlightID = end, id
	return s.saveCheckpoint(cp)
}

// Commit records that everything before pos is shipped and deletes the
// segments wholly behind it.
func (s *Spool) Commit(pos Position) error {
	if err := s.saveCheckpoint(Checkpoint{Shipped: pos}); err != nil {
		return err
	}
	s.mu.Lock()
	var drop []uint64
	for seg, size := range s.segSizes {
		if seg < pos.Segment && seg != s.activeSeg {
			drop = append(drop, seg)
			s.total -= size
			delete(s.segSizes, seg)
		}
	}
	s.mu.Unlock()
	for _, seg := range drop {
		if err := os.Remove(s.segPath(seg)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("cannot delete shipped spool segment: %w", err)
		}
	}
	return nil
}

func (s *Spool) saveCheckpoint(cp Checkpoint) error {
	tmp := filepath.Join(s.cfg.Dir, "checkpoint.tmp")
	body := fmt.Sprintf("%d %d %d %d %d\n", cp.Shipped.Segment, cp.Shipped.Offset, cp.InFlight.Segment, cp.InFlight.Offset, cp.InFlightID)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("cannot write spool checkpoint: %w", err)
	}
	_, err = f.WriteString(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.cfg.Dir, "checkpoint"))
	}
	if err == nil {
		err = syncDir(s.cfg.Dir)
	}
	if err != nil {
		return fmt.Errorf("cannot write spool checkpoint: %w", err)
	}
	s.mu.Lock()
	s.check = cp
	s.mu.Unlock()
	return nil
}

func readCheckpoint(dir string) (Checkpoint, error) {
	var cp Checkpoint
	raw, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if errors.Is(err, os.ErrNotExist) {
		return cp, nil
	}
	if err != nil {
		return cp, fmt.Errorf("cannot read spool checkpoint: %w", err)
	}
	_, err = fmt.Sscanf(strings.TrimSpace(string(raw)), "%d %d %d %d %d", &cp.Shipped.Segment, &cp.Shipped.Offset,
		&cp.InFlight.Segment, &cp.InFlight.Offset, &cp.InFlightID)
	if err != nil {
		return cp, fmt.Errorf("cannot parse spool checkpoint %q: %w", raw, err)
	}
	return cp, nil
}
