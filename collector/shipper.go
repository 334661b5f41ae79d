package collector

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/shade-analytics/shade/collector/spool"
	"github.com/shade-analytics/shade/storage"
)

// SpoolSink is the durable Sink: each event and its session rows become one
// spool record, on disk (in durable mode) before Append returns.
type SpoolSink struct {
	sp   *spool.Spool
	bufs sync.Pool
}

// NewSpoolSink appends to sp.
func NewSpoolSink(sp *spool.Spool) *SpoolSink { return &SpoolSink{sp: sp} }

// Append encodes and spools one event.
func (s *SpoolSink) Append(ev *storage.Event, sessions []storage.Session) error {
	bp, _ := s.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	*bp = encodeRecord((*bp)[:0], ev, sessions)
	err := s.sp.Append(*bp)
	s.bufs.Put(bp)
	if err != nil {
		return fmt.Errorf("cannot keep the event: %w", err)
	}
	return nil
}

// Writer is what the shipper needs from storage.
type Writer interface {
	Insert(ctx context.Context, b *storage.Batch) error
	Reinsert(ctx context.Context, b *storage.Batch) error
}

// ShipperConfig sizes the shipper's batches.
type ShipperConfig struct {
	MaxRecords int           // events per batch at most; default 20000
	MaxWait    time.Duration // a batch waits this long after the last insert to fill up; default 1s
}

// Shipper moves records from the spool into ClickHouse in order: it marks a
// batch in flight, inserts it, then advances the checkpoint. After a crash
// the batch in flight is inserted again with Reinsert, which skips what
// already landed, so every record is stored exactly once.
type Shipper struct {
	cfg  ShipperConfig
	sp   *spool.Spool
	dst  Writer
	log  *slog.Logger
	stop chan struct{}
	done chan struct{}
	up   atomic.Bool

	shipped, failures, corrupt *metrics.Counter
	batchRows, insertTime      *metrics.Histogram
	lastShip                   atomic.Int64
	cancel                     context.CancelFunc
}

// NewShipper builds a shipper; Start runs it.
func NewShipper(logger *slog.Logger, set *metrics.Set, sp *spool.Spool, dst Writer, cfg ShipperConfig) *Shipper {
	if cfg.MaxRecords <= 0 {
		cfg.MaxRecords = 20000
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = time.Second
	}
	s := &Shipper{cfg: cfg, sp: sp, dst: dst, log: logger, stop: make(chan struct{}), done: make(chan struct{}),
		shipped:    set.NewCounter("shade_events_shipped_total"),
		failures:   set.NewCounter("shade_insert_retries_total"),
		corrupt:    set.NewCounter("shade_spool_records_skipped_total"),
		batchRows:  set.NewHistogram("shade_shipped_batch_rows"),
		insertTime: set.NewHistogram("shade_shipped_insert_duration_seconds"),
	}
	s.up.Store(true)
	set.NewGauge("shade_clickhouse_up", func() float64 {
		if s.up.Load() {
			return 1
		}
		return 0
	})
	return s
}

// Healthy reports whether the last insert succeeded.
func (s *Shipper) Healthy() bool { return s.up.Load() }

// Start ships until Stop.
func (s *Shipper) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() {
		defer close(s.done)
		if err := s.run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("shipper stopped", "err", err)
		}
	}()
}

// Stop ships what is spooled until it is caught up or ctx ends; what is left
// stays in the spool for the next start. Close the spool first, so nothing
// new arrives.
func (s *Shipper) Stop(ctx context.Context) error {
	close(s.stop)
	defer s.cancel()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		s.cancel()
		<-s.done
		return fmt.Errorf("events left in the spool for the next start: %w", ctx.Err())
	}
}

func (s *Shipper) run(ctx context.Context) error {
	cp := s.sp.Checkpoint()
	pos := cp.Shipped
	if cp.InFlightID != 0 {
		if err := s.ship(ctx, pos, cp.InFlight, cp.InFlightID, true); err != nil {
			return err
		}
		pos = cp.InFlight
	}
	for {
		committed, moved := s.sp.Committed()
		if pos == committed {
			select {
			case <-s.stop:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			case <-moved:
			}
			continue
		}
		recs, next, err := s.collect(ctx, pos)
		if err != nil {
			return err
		}
		if next == pos {
			continue
		}
		id := batchID(s.sp.ID(), pos)
		if err := s.sp.SetInFlight(next, id); err != nil {
			return err
		}
		if err := s.insert(ctx, recs, id, false); err != nil {
			return err
		}
		if err := s.sp.Commit(next); err != nil {
			return err
		}
		pos = next
	}
}

// maxBatchBytes caps the spool bytes read into one batch; pollEvery is how
// often a short batch looks for more records while it waits.
const (
	maxBatchBytes = 64 << 20
	pollEvery     = 50 * time.Millisecond
)

// collect reads the next batch from pos. A short batch waits for more
// records until MaxWait has passed since the last shipment, unless the
// shipper is draining: every insert writes a part to the events table and
// to each rollup, so a few large inserts cost ClickHouse far less than many
// small ones.
func (s *Shipper) collect(ctx context.Context, pos spool.Position) ([][]byte, spool.Position, error) {
	recs, next, err := s.sp.Read(pos, s.cfg.MaxRecords, maxBatchBytes)
	size := 0
	for _, r := range recs {
		size += len(r)
	}
	for err == nil && next != pos && len(recs) < s.cfg.MaxRecords && size < maxBatchBytes && !s.stopping() {
		wait := s.waitFor()
		if wait <= 0 {
			break
		}
		select {
		case <-time.After(min(wait, pollEvery)):
		case <-s.stop:
		case <-ctx.Done():
			return nil, pos, ctx.Err()
		}
		var more [][]byte
		more, next, err = s.sp.Read(next, s.cfg.MaxRecords-len(recs), maxBatchBytes-size)
		for _, r := range more {
			size += len(r)
		}
		recs = append(recs, more...)
	}
	return recs, next, err
}

func (s *Shipper) stopping() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// waitFor is how long to wait for more records before shipping a small batch.
func (s *Shipper) waitFor() time.Duration {
	since := time.Duration(time.Now().UnixNano() - s.lastShip.Load())
	if since >= s.cfg.MaxWait {
		return 0
	}
	return s.cfg.MaxWait - since
}

// ship re-reads [from, to) and inserts it as batch id.
func (s *Shipper) ship(ctx context.Context, from, to spool.Position, id uint64, replay bool) error {
	var recs [][]byte
	for from.Less(to) {
		more, next, err := s.sp.Read(from, s.cfg.MaxRecords, maxBatchBytes)
		if err != nil {
			return err
		}
		if next == from {
			break
		}
		recs = append(recs, more...)
		from = next
	}
	if err := s.insert(ctx, recs, id, replay); err != nil {
		return err
	}
	return s.sp.Commit(to)
}

func (s *Shipper) insert(ctx context.Context, recs [][]byte, id uint64, replay bool) error {
	batch := &storage.Batch{ID: id, Events: make([]storage.Event, 0, len(recs))}
	for _, r := range recs {
		if err := decodeRecord(r, batch); err != nil {
			s.corrupt.Inc()
			s.log.Error("skipping an unreadable spool record", "err", err)
		}
	}
	batch.Compact()
	start := time.Now()
	first := s.dst.Insert
	if replay {
		first = s.dst.Reinsert
	}
	err := retry(ctx, s.log, s.failures, batch.Len(),
		func(ctx context.Context) error {
			err := first(ctx, batch)
			s.up.Store(err == nil)
			return err
		},
		func(ctx context.Context) error {
			err := s.dst.Reinsert(ctx, batch)
			s.up.Store(err == nil)
			return err
		})
	if err != nil {
		return err
	}
	s.lastShip.Store(time.Now().UnixNano())
	s.insertTime.UpdateDuration(start)
	s.batchRows.Update(float64(batch.Len()))
	s.shipped.Add(len(batch.Events))
	return nil
}

// batchID mixes the spool's identity with the batch's first position.
func batchID(spoolID uint64, pos spool.Position) uint64 {
	var b [24]byte
	binary.LittleEndian.PutUint64(b[:], spoolID)
	binary.LittleEndian.PutUint64(b[8:], pos.Segment)
	binary.LittleEndian.PutUint64(b[16:], uint64(pos.Offset))
	h := fnv.New64a()
	h.Write(b[:])
	return h.Sum64() | 1
}
