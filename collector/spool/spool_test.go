package spool

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

func open(t *testing.T, dir string, cfg Config) *Spool {
	t.Helper()
	cfg.Dir = dir
	s, err := Open(slog.New(slog.NewTextHandler(io.Discard, nil)), metrics.NewSet(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readAll(t *testing.T, s *Spool, from Position) ([]string, Position) {
	t.Helper()
	var out []string
	for {
		recs, next, err := s.Read(from, 1000, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			out = append(out, string(r))
		}
		if next == from {
			return out, next
		}
		from = next
	}
}

func TestAppendReadAcrossSegmentsAndRestart(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Config{Durable: true, SegmentBytes: 200})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				if err := s.Append([]byte(fmt.Sprintf("g%d-%02d", g, i))); err != nil {
					t.Error(err)
				}
			}
		}(g)
	}
	wg.Wait()
	got, end := readAll(t, s, Position{})
	if len(got) != 100 {
		t.Fatalf("read %d records, want 100", len(got))
	}
	seen := map[string]bool{}
	for _, r := range got {
		if seen[r] {
			t.Fatalf("record %s read twice", r)
		}
		seen[r] = true
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) < 3 {
		t.Errorf("%d segments, want rotation at 200 bytes", len(segs))
	}
	// Ship half, restart: the rest is still there, the shipped segments are gone.
	half, mid := readFirst(t, s, 50)
	if len(half) != 50 {
		t.Fatalf("read %d, want 50", len(half))
	}
	if err := s.Commit(mid); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append([]byte("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v, want ErrClosed", err)
	}
	s = open(t, dir, Config{Durable: true, SegmentBytes: 200})
	defer s.Close()
	rest, _ := readAll(t, s, s.Checkpoint().Shipped)
	if len(rest) != 50 {
		t.Errorf("after restart, %d records left, want 50", len(rest))
	}
	if end.Segment < mid.Segment {
		t.Errorf("end %v before mid %v", end, mid)
	}
	segs2, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs2) >= len(segs) {
		t.Errorf("shipped segments not deleted: %d before, %d after", len(segs), len(segs2))
	}
}

func readFirst(t *testing.T, s *Spool, n int) ([]string, Position) {
	t.Helper()
	var out []string
	pos := Position{}
	for len(out) < n {
		recs, next, err := s.Read(pos, n-len(out), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			out = append(out, string(r))
		}
		pos = next
	}
	return out, pos
}

func TestTornTailIsCutAtOpen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Config{Durable: true})
	for i := 0; i < 10; i++ {
		if err := s.Append([]byte(fmt.Sprintf("record-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	// A crash in the middle of the next group write: part of a frame lands
	// right after the data, in the zero-filled space.
	end := int64(0)
	for i := 0; i < 10; i++ {
		end += int64(frameHeader + len(fmt.Sprintf("record-%d", i)))
	}
	seg := filepath.Join(dir, segName(1))
	f, _ := os.OpenFile(seg, os.O_WRONLY, 0)
	f.WriteAt([]byte{50, 0, 0, 0, 1, 2, 3, 4, 'p', 'a', 'r'}, end)
	f.Close()
	s = open(t, dir, Config{Durable: true})
	defer s.Close()
	if s.corrupt.Get() != 1 {
		t.Errorf("corrupt counter %d, want 1", s.corrupt.Get())
	}
	got, _ := readAll(t, s, Position{})
	if len(got) != 10 {
		t.Fatalf("read %d records after a torn tail, want 10", len(got))
	}
	if err := s.Append([]byte("after")); err != nil {
		t.Fatal(err)
	}
	got, _ = readAll(t, s, Position{})
	if len(got) != 11 || got[10] != "after" {
		t.Errorf("append after recovery: %v", got)
	}
	// The torn bytes were zeroed: after another restart nothing stale appears.
	s.Close()
	s = open(t, dir, Config{Durable: true})
	defer s.Close()
	if got, _ = readAll(t, s, Position{}); len(got) != 11 {
		t.Errorf("after a second restart, %d records, want 11", len(got))
	}
}

func TestCorruptSegmentIsSkipped(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Config{Durable: true, SegmentBytes: 100})
	for i := 0; i < 20; i++ {
		if err := s.Append([]byte(fmt.Sprintf("record-%02d", i))); err != nil {
			t.Fatal(err)
		}
	}
	// Flip a byte inside the first segment's second frame.
	seg := filepath.Join(dir, segName(1))
	data, _ := os.ReadFile(seg)
	data[frameHeader+9+frameHeader+2] ^= 0xff
	os.WriteFile(seg, data, 0o600)
	got, _ := readAll(t, s, Position{})
	s.Close()
	if len(got) == 0 || len(got) >= 20 || got[0] != "record-00" {
		t.Fatalf("read %v", got)
	}
	if s.corrupt.Get() == 0 {
		t.Error("corruption not counted")
	}
}

func TestFullSpoolRefuses(t *testing.T) {
	s := open(t, t.TempDir(), Config{Durable: true, MaxBytes: 100})
	defer s.Close()
	var err error
	n := 0
	for ; n < 100; n++ {
		if err = s.Append([]byte("0123456789")); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrFull) || n != 5 {
		t.Fatalf("after %d appends: %v, want ErrFull after 5", n, err)
	}
	// Shipping frees room.
	_, end := readAll(t, s, Position{})
	if err := s.Commit(end); err != nil {
		t.Fatal(err)
	}
	if err := s.Append([]byte("0123456789")); err != nil {
		t.Errorf("after shipping, Append: %v", err)
	}
}

func TestInFlightSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Config{Durable: true})
	s.Append([]byte("a"))
	_, end := readAll(t, s, Position{})
	if err := s.SetInFlight(end, 42); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir, Config{Durable: true})
	defer s.Close()
	cp := s.Checkpoint()
	if cp.InFlightID != 42 || cp.InFlight != end || cp.Shipped != (Position{}) {
		t.Errorf("checkpoint %+v", cp)
	}
}

func FuzzParseFrame(f *testing.F) {
	f.Add(appendFrame(nil, []byte("hello")))
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		payload, n, ok := parseFrame(b)
		if !ok {
			return
		}
		if n != frameHeader+len(payload) || n > len(b) {
			t.Fatalf("frame length %d for payload %d in %d bytes", n, len(payload), len(b))
		}
		if again := appendFrame(nil, payload); string(again) != string(b[:n]) {
			t.Fatal("frame does not round-trip")
		}
	})
}

// Appends racing with Close either fail with ErrClosed or are on disk.
func TestCloseDuringAppends(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Config{Durable: true})
	var ok sync.Map
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				rec := fmt.Sprintf("%d-%d", g, i)
				err := s.Append([]byte(rec))
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				ok.Store(rec, true)
			}
		}(g)
	}
	time.Sleep(50 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	s = open(t, dir, Config{Durable: true})
	defer s.Close()
	got, _ := readAll(t, s, Position{})
	have := map[string]bool{}
	for _, r := range got {
		have[r] = true
	}
	missing := 0
	ok.Range(func(k, _ any) bool {
		if !have[k.(string)] {
			missing++
		}
		return true
	})
	if missing > 0 {
		t.Errorf("%d acknowledged records missing after Close", missing)
	}
}
