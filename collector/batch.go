package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/shade-analytics/shade/storage"
)

// ErrBackpressure means an event cannot be accepted now without risking its
// loss; the handler answers 503 with Retry-After.
var ErrBackpressure = errors.New("too many events waiting to be stored")

// Sink takes processed events. A nil error is a promise that the event will
// be stored: the handler answers 202 only then.
type Sink interface {
	Append(ev *storage.Event, sessions []storage.Session) error
}

// Inserter writes batches to storage; *storage.Store is one.
type Inserter interface {
	Insert(ctx context.Context, b *storage.Batch) error
}

// BatcherConfig bounds the in-memory batcher.
type BatcherConfig struct {
	MaxRows       int           // flush when a batch holds this many rows; default 5000
	FlushInterval time.Duration // flush a non-empty batch at least this often; default 1s
	MaxPending    int           // rows held in memory at most, queued or being inserted; default 200000
}

func (c *BatcherConfig) setDefaults() {
	if c.MaxRows <= 0 {
		c.MaxRows = 5000
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = time.Second
	}
	if c.MaxPending < c.MaxRows {
		c.MaxPending = max(200000, c.MaxRows)
	}
}

// Batcher collects events in memory and inserts them in batches: when a
// batch is full, when it is old, and always at Close. Memory is bounded by
// MaxPending rows; beyond that Append refuses with ErrBackpressure instead of
// growing. A failed insert is retried with backoff until it succeeds or the
// batcher is closed.
type Batcher struct {
	cfg  BatcherConfig
	dst  Inserter
	log  *slog.Logger
	mu   sync.Mutex
	cur  *storage.Batch
	held int // rows in cur, in queue and in flight
	shut bool

	queue chan *storage.Batch
	stop  chan struct{}
	done  chan struct{}

	inserted, insertErrors, refused *metrics.Counter
	insertTime, batchRows           *metrics.Histogram
}

// NewBatcher starts a batcher that writes to dst.
func NewBatcher(logger *slog.Logger, set *metrics.Set, dst Inserter, cfg BatcherConfig) *Batcher {
	cfg.setDefaults()
	b := &Batcher{
		cfg: cfg, dst: dst, log: logger,
		cur:          &storage.Batch{},
		queue:        make(chan *storage.Batch, cfg.MaxPending/cfg.MaxRows+2),
		stop:         make(chan struct{}),
		done:         make(chan struct{}),
		inserted:     set.NewCounter("shade_rows_inserted_total"),
		insertErrors: set.NewCounter("shade_insert_errors_total"),
		refused:      set.NewCounter(`shade_events_refused_total{reason="backpressure"}`),
		insertTime:   set.NewHistogram("shade_insert_duration_seconds"),
		batchRows:    set.NewHistogram("shade_batch_rows"),
	}
	set.NewGauge("shade_rows_pending", func() float64 {
		b.mu.Lock()
		defer b.mu.Unlock()
		return float64(b.held)
	})
	go b.run()
	return b
}

// Append adds an event and its session rows to the current batch.
func (b *Batcher) Append(ev *storage.Event, sessions []storage.Session) error {
	n := 1 + len(sessions)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.shut || b.held+n > b.cfg.MaxPending {
		b.refused.Inc()
		return ErrBackpressure
	}
	b.cur.Events = append(b.cur.Events, *ev)
	b.cur.Sessions = append(b.cur.Sessions, sessions...)
	b.held += n
	if b.cur.Len() >= b.cfg.MaxRows {
		b.handOff()
	}
	return nil
}

// handOff queues the current batch; b.mu is held. The queue's capacity covers
// MaxPending, so this never blocks.
func (b *Batcher) handOff() {
	if b.cur.Len() == 0 {
		return
	}
	b.queue <- b.cur
	b.cur = &storage.Batch{Events: make([]storage.Event, 0, b.cfg.MaxRows)}
}

func (b *Batcher) run() {
	defer close(b.done)
	tick := time.NewTicker(b.cfg.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case batch := <-b.queue:
			b.insert(batch)
		case <-tick.C:
			b.mu.Lock()
			b.handOff()
			b.mu.Unlock()
		case <-b.stop:
			b.mu.Lock()
			b.handOff()
			b.mu.Unlock()
			for {
				select {
				case batch := <-b.queue:
					b.insert(batch)
				default:
					return
				}
			}
		}
	}
}

// insert writes one batch, retrying through outages; when the batcher is
// closing it tries for at most a few seconds more before giving up.
func (b *Batcher) insert(batch *storage.Batch) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-b.stop:
			select {
			case <-time.After(5 * time.Second):
				cancel()
			case <-ctx.Done():
			}
		case <-ctx.Done():
		}
	}()
	held := batch.Len()
	batch.Compact()
	start := time.Now()
	err := retry(ctx, b.log, b.insertErrors, batch.Len(),
		func(ctx context.Context) error { return b.dst.Insert(ctx, batch) },
		func(ctx context.Context) error { return b.dst.Insert(ctx, batch) })
	if err != nil {
		b.log.Error("giving up on a batch at shutdown", "rows", batch.Len(), "err", err)
		return
	}
	b.insertTime.UpdateDuration(start)
	b.batchRows.Update(float64(batch.Len()))
	b.inserted.Add(batch.Len())
	b.mu.Lock()
	b.held -= held
	b.mu.Unlock()
}

// Close stops accepting, flushes everything held and waits for the inserts,
// at most until ctx ends.
func (b *Batcher) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.shut {
		b.mu.Unlock()
		return nil
	}
	b.shut = true
	b.mu.Unlock()
	close(b.stop)
	select {
	case <-b.done:
		b.mu.Lock()
		lost := b.held
		b.mu.Unlock()
		if lost > 0 {
			return fmt.Errorf("cannot store %d rows before shutdown", lost)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cannot flush before shutdown: %w", ctx.Err())
	}
}

// Pending is the number of rows accepted but not yet inserted.
func (b *Batcher) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held
}
