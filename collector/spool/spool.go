// Package spool is the collector's write-ahead log: accepted events are
// appended to segment files and made durable by group commit (one fsync for
// every record that arrived while the previous fsync ran) before the
// collector answers 202. A reader ships records in order and advances a
// checkpoint; segments wholly behind the checkpoint are deleted.
//
// On disk: DIR/NNNNNNNNNNNNNNNNNNNN.seg files of frames
// [length uint32][crc32c uint32][payload], and DIR/checkpoint. A torn tail
// (a crash in the middle of a write) fails its checksum and is cut off at
// Open; corruption inside an older segment skips the rest of that segment.
// Both are logged and counted, never fatal.
package spool

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"golang.org/x/sys/unix"
)

// Errors Append returns; the collector answers 503 with Retry-After to both.
var (
	ErrFull   = errors.New("spool is full: events are not being shipped to ClickHouse fast enough")
	ErrClosed = errors.New("spool is closed")
)

// MaxRecord is the largest payload accepted.
const MaxRecord = 1 << 20

const frameHeader = 8

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Config configures a spool.
type Config struct {
	Dir          string
	SegmentBytes int64         // rotate segments at this size; default 32 MiB
	MaxBytes     int64         // cap on the bytes not yet shipped; default a quarter of the free disk, at least 64 MiB
	Durable      bool          // Append returns after fsync (true) or after queueing the write (false)
	CommitWindow time.Duration // wait this long for more records before each write; default 0 (natural grouping)
}

// Position is a place in the spool: a segment and a byte offset in it.
type Position struct {
	Segment uint64
	Offset  int64
}

// Less orders positions.
func (p Position) Less(q Position) bool {
	return p.Segment < q.Segment || (p.Segment == q.Segment && p.Offset < q.Offset)
}

type group struct {
	done chan struct{}
	err  error
}

// Spool is a write-ahead log of records.
type Spool struct {
	cfg Config
	log *slog.Logger

	mu        sync.Mutex
	buf       []byte // frames waiting for the committer
	spare     []byte
	cur       *group
	kick      chan struct{}
	closed    bool
	stopped   chan struct{}
	committed Position // end of the durable data
	active    *os.File
	activeSeg uint64
	segSizes  map[uint64]int64 // every segment on disk and its size
	total     int64            // bytes in segments on disk plus buf
	notify    chan struct{}    // closed and replaced when committed moves
	check     Checkpoint
	id        uint64        // random identity of this spool, persisted, for batch IDs
	preparing chan struct{} // closed when the next segment is zero-filled

	appends, fsyncs, writeErrors, full, corrupt *metrics.Counter
	fsyncTime, groupBytes                       *metrics.Histogram
}

// Checkpoint is what the reader has shipped, and the batch it is shipping.
type Checkpoint struct {
	Shipped Position
	// InFlight, when not zero, is the end of a batch that was being shipped
	// with ID InFlightID: on restart it must be shipped again idempotently.
	InFlight   Position
	InFlightID uint64
}

// Open opens or creates the spool in cfg.Dir, recovering from a crash.
func Open(logger *slog.Logger, set *metrics.Set, cfg Config) (*Spool, error) {
	if cfg.Dir == "" {
		return nil, errors.New("spool: a directory is required")
	}
	if cfg.SegmentBytes <= 0 {
		cfg.SegmentBytes = 32 << 20
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create spool directory: %w", err)
	}
	if cfg.MaxBytes <= 0 {
		var st syscall.Statfs_t
		if err := syscall.Statfs(cfg.Dir, &st); err != nil {
			return nil, fmt.Errorf("cannot read free disk space: %w", err)
		}
		cfg.MaxBytes = max(int64(st.Bavail)*st.Bsize/4, 64<<20)
	}
	var err error
	s := &Spool{
		cfg: cfg, log: logger, segSizes: map[uint64]int64{},
		cur: &group{done: make(chan struct{})}, kick: make(chan struct{}, 1),
		stopped: make(chan struct{}), notify: make(chan struct{}),
		appends:     set.NewCounter("shade_spool_appends_total"),
		fsyncs:      set.NewCounter("shade_spool_fsyncs_total"),
		writeErrors: set.NewCounter("shade_spool_write_errors_total"),
		full:        set.NewCounter("shade_spool_full_total"),
		corrupt:     set.NewCounter("shade_spool_corrupt_total"),
		fsyncTime:   set.NewHistogram("shade_spool_fsync_duration_seconds"),
		groupBytes:  set.NewHistogram("shade_spool_group_bytes"),
	}
	set.NewGauge("shade_spool_bytes", func() float64 { return float64(s.Bytes()) })
	set.NewGauge("shade_spool_max_bytes", func() float64 { return float64(cfg.MaxBytes) })
	if err := s.recover(); err != nil {
		return nil, err
	}
	if s.id, err = readOrCreateID(cfg.Dir); err != nil {
		return nil, err
	}
	go s.commitLoop()
	return s, nil
}

// ID is the spool's random identity, kept across restarts. Batch IDs mix it
// with a position so that two spools (two collectors, or a spool directory
// wiped and recreated) never produce the same batch ID.
func (s *Spool) ID() uint64 { return s.id }

func readOrCreateID(dir string) (uint64, error) {
	path := filepath.Join(dir, "id")
	raw, err := os.ReadFile(path)
	if err == nil {
		id, perr := strconv.ParseUint(strings.TrimSpace(string(raw)), 16, 64)
		if perr == nil && id != 0 {
			return id, nil
		}
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, fmt.Errorf("cannot make a spool id: %w", err)
	}
	id := binary.LittleEndian.Uint64(b[:]) | 1
	if err := os.WriteFile(path, []byte(strconv.FormatUint(id, 16)+"\n"), 0o600); err != nil {
		return 0, fmt.Errorf("cannot save the spool id: %w", err)
	}
	return id, syncDir(dir)
}

func segName(seg uint64) string { return fmt.Sprintf("%020d.seg", seg) }

func (s *Spool) segPath(seg uint64) string { return filepath.Join(s.cfg.Dir, segName(seg)) }

// recover reads the checkpoint, lists the segments, cuts a torn tail off the
// last one and opens a segment for appending.
func (s *Spool) recover() error {
	cp, err := readCheckpoint(s.cfg.Dir)
	if err != nil {
		return err
	}
	s.check = cp
	entries, err := os.ReadDir(s.cfg.Dir)
	if err != nil {
		return fmt.Errorf("cannot list spool: %w", err)
	}
	var segs []uint64
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") { // a segment being prepared when we stopped
			_ = os.Remove(filepath.Join(s.cfg.Dir, name))
			continue
		}
		if !strings.HasSuffix(name, ".seg") {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(name, ".seg"), 10, 64)
		if err != nil {
			continue
		}
		if n < cp.Shipped.Segment { // shipped before the crash, not yet deleted
			_ = os.Remove(s.segPath(n))
			continue
		}
		valid, garbage, err := s.validLength(n)
		if err != nil {
			return err
		}
		if garbage {
			// A torn write (or damage): everything after the last intact
			// frame is ignored, and zeroed so that no stale frame behind
			// it can ever be read as new.
			s.corrupt.Inc()
			s.log.Warn("cutting a torn tail off the spool", "segment", name, "valid_bytes", valid)
			if err := zeroFrom(s.segPath(n), valid); err != nil {
				return err
			}
		}
		segs = append(segs, n)
		s.segSizes[n] = valid
		s.total += valid
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i] < segs[j] })
	last := cp.Shipped.Segment
	if len(segs) > 0 {
		last = segs[len(segs)-1]
	}
	if last == 0 {
		last = 1
	}
	return s.openActive(last)
}

// validLength is the length of the longest prefix of whole, intact frames;
// garbage reports non-zero bytes after it (segments are zero-filled ahead).
func (s *Spool) validLength(seg uint64) (valid int64, garbage bool, err error) {
	data, err := os.ReadFile(s.segPath(seg))
	if err != nil {
		return 0, false, fmt.Errorf("cannot read spool segment: %w", err)
	}
	var off int64
	for {
		_, n, ok := parseFrame(data[off:])
		if !ok {
			break
		}
		off += int64(n)
	}
	for _, b := range data[off:] {
		if b != 0 {
			return off, true, nil
		}
	}
	return off, false, nil
}

// zeroFrom overwrites a file with zeros from off to its end and syncs it.
func zeroFrom(path string, off int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("cannot open spool segment: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("cannot stat spool segment: %w", err)
	}
	if err := writeZeros(f, off, info.Size()); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("cannot sync spool segment: %w", err)
	}
	return nil
}

func writeZeros(f *os.File, from, to int64) error {
	zeros := make([]byte, min(1<<20, max(to-from, 0)))
	for off := from; off < to; {
		n := min(int64(len(zeros)), to-off)
		if _, err := f.WriteAt(zeros[:n], off); err != nil {
			return fmt.Errorf("cannot zero-fill spool segment: %w", err)
		}
		off += n
	}
	return nil
}

// fillZeros zero-fills a new segment a slice at a time, waiting for each
// slice to reach the disk before writing the next: one burst of a whole
// segment would sit in the disk queue in front of the fsyncs that requests
// are waiting for.
func fillZeros(f *os.File, size int64) error {
	const slice = 256 << 10
	zeros := make([]byte, slice)
	for off := int64(0); off < size; off += slice {
		n := min(slice, size-off)
		if _, err := f.WriteAt(zeros[:n], off); err != nil {
			return fmt.Errorf("cannot zero-fill spool segment: %w", err)
		}
		err := unix.SyncFileRange(int(f.Fd()), off, n,
			unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
		if err != nil {
			return fmt.Errorf("cannot zero-fill spool segment: %w", err)
		}
	}
	return nil
}

// parseFrame decodes the frame at the start of b.
func parseFrame(b []byte) (payload []byte, n int, ok bool) {
	if len(b) < frameHeader {
		return nil, 0, false
	}
	size := int(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
	sum := uint32(b[4]) | uint32(b[5])<<8 | uint32(b[6])<<16 | uint32(b[7])<<24
	if size == 0 || size > MaxRecord || len(b) < frameHeader+size {
		return nil, 0, false // size 0 is the zero-filled space after the data
	}
	payload = b[frameHeader : frameHeader+size]
	if crc32.Checksum(payload, crcTable) != sum {
		return nil, 0, false
	}
	return payload, frameHeader + size, true
}

func appendFrame(dst, payload []byte) []byte {
	n := uint32(len(payload))
	sum := crc32.Checksum(payload, crcTable)
	dst = append(dst, byte(n), byte(n>>8), byte(n>>16), byte(n>>24), byte(sum), byte(sum>>8), byte(sum>>16), byte(sum>>24))
	return append(dst, payload...)
}

// openActive makes seg the segment appended to; s.mu is held or the spool
// is not shared yet. Segments are zero-filled to SegmentBytes before use:
// overwriting allocated blocks lets fdatasync skip the file system journal,
// which makes the sync before each 202 several times cheaper under load.
// The next segment is prepared in the background meanwhile.
func (s *Spool) openActive(seg uint64) error {
	if s.preparing != nil {
		<-s.preparing
		s.preparing = nil
	}
	if err := s.prepare(seg); err != nil {
		return err
	}
	f, err := os.OpenFile(s.segPath(seg), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("cannot open spool segment: %w", err)
	}
	s.active, s.activeSeg = f, seg
	if _, ok := s.segSizes[seg]; !ok {
		s.segSizes[seg] = 0
	}
	s.committed = Position{seg, s.segSizes[seg]}
	done := make(chan struct{})
	s.preparing = done
	go func() {
		defer close(done)
		if err := s.prepare(seg + 1); err != nil {
			s.log.Error("cannot prepare the next spool segment", "err", err)
		}
	}()
	return nil
}

// prepare creates seg zero-filled to SegmentBytes, unless it exists. The
// file gets its name only when complete, so a crash leaves no short segment.
func (s *Spool) prepare(seg uint64) error {
	path := s.segPath(seg)
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("cannot create spool segment: %w", err)
	}
	err = fillZeros(f, s.cfg.SegmentBytes)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(s.cfg.Dir)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("cannot prepare spool segment: %w", err)
	}
	return nil
}

// Append adds one record. In durable mode it returns once the record is on
// disk; an error means the record is not kept and must not be acknowledged.
func (s *Spool) Append(rec []byte) error {
	if len(rec) == 0 {
		return errors.New("spool: empty record")
	}
	if len(rec) > MaxRecord {
		return fmt.Errorf("record of %d bytes is over the %d-byte limit", len(rec), MaxRecord)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.pending()+int64(frameHeader+len(rec)) > s.cfg.MaxBytes {
		s.mu.Unlock()
		s.full.Inc()
		return ErrFull
	}
	s.buf = appendFrame(s.buf, rec)
	s.total += int64(frameHeader + len(rec))
	g := s.cur
	// Kick under the lock: Close closes the channel under it too.
	select {
	case s.kick <- struct{}{}:
	default:
	}
	s.mu.Unlock()
	s.appends.Inc()
	if !s.cfg.Durable {
		return nil
	}
	<-g.done
	return g.err
}

func (s *Spool) commitLoop() {
	defer close(s.stopped)
	for range s.kick {
		if s.cfg.CommitWindow > 0 {
			time.Sleep(s.cfg.CommitWindow)
		}
		for s.commitOnce() {
		}
	}
}

// commitOnce writes and syncs everything buffered; it reports whether there was anything.
func (s *Spool) commitOnce() bool {
	s.mu.Lock()
	if len(s.buf) == 0 {
		s.mu.Unlock()
		return false
	}
	data, g := s.buf, s.cur
	s.buf, s.spare = s.spare[:0], nil
	s.cur = &group{done: make(chan struct{})}
	s.mu.Unlock()

	err := s.write(data)
	s.mu.Lock()
	if err != nil {
		s.total -= int64(len(data))
	} else {
		s.committed = Position{s.activeSeg, s.segSizes[s.activeSeg]}
		close(s.notify)
		s.notify = make(chan struct{})
	}
	s.spare = data[:0]
	s.mu.Unlock()
	g.err = err
	close(g.done)
	return true
}

// write appends data to the active segment, rotating first when it is full,
// and syncs it. On failure the segment is cut back to its last good size so
// that no half-written frame stays in the middle of the log.
func (s *Spool) write(data []byte) error {
	s.mu.Lock()
	size := s.segSizes[s.activeSeg]
	s.mu.Unlock()
	if size > 0 && size+int64(len(data)) > s.cfg.SegmentBytes {
		if err := s.rotate(); err != nil {
			s.writeErrors.Inc()
			return err
		}
		size = 0
	}
	_, err := s.active.WriteAt(data, size)
	if err == nil {
		start := time.Now()
		err = syscall.Fdatasync(int(s.active.Fd()))
		s.fsyncTime.UpdateDuration(start)
		s.groupBytes.Update(float64(len(data)))
		s.fsyncs.Inc()
	}
	if err != nil {
		s.writeErrors.Inc()
		// Zero what may have been written, so the log holds only whole,
		// acknowledged records.
		if zerr := writeZeros(s.active, size, size+int64(len(data))); zerr != nil {
			s.log.Error("cannot clear a failed spool write", "err", zerr)
		}
		return fmt.Errorf("cannot write spool: %w", err)
	}
	s.mu.Lock()
	s.segSizes[s.activeSeg] = size + int64(len(data))
	s.mu.Unlock()
	return nil
}

func (s *Spool) rotate() error {
	if err := s.active.Close(); err != nil {
		return fmt.Errorf("cannot close spool segment: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.openActive(s.activeSeg + 1)
}

// Close writes and syncs what is buffered and closes the spool. Appends
// after Close fail with ErrClosed.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.kick)
	s.mu.Unlock()
	<-s.stopped
	if s.preparing != nil {
		<-s.preparing
	}
	return s.active.Close()
}

// Bytes is the size of the records not yet shipped.
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending()
}

// pending is the bytes not yet shipped; s.mu is held. Commit deletes every
// segment before the checkpoint's, so only that segment's shipped head is
// still on disk besides what is pending.
func (s *Spool) pending() int64 { return s.total - s.check.Shipped.Offset }

// Committed returns the end of the durable data and a channel closed when it moves.
func (s *Spool) Committed() (Position, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.committed, s.notify
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("cannot open spool directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("cannot sync spool directory: %w", err)
	}
	return nil
}
