package collector

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// retry calls insert until it succeeds or ctx ends, with exponential backoff
// from 100 ms to 10 s and jitter, counting and (sparingly) logging failures.
// first is tried once before the retries; later attempts call again, so a
// caller can make retries idempotent (Reinsert) while the first try is cheap.
func retry(ctx context.Context, log *slog.Logger, failures *metrics.Counter, rows int,
	first, again func(context.Context) error) error {
	backoff := 100 * time.Millisecond
	try := first
	for attempt := 0; ; attempt++ {
		ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := try(ictx)
		cancel()
		if err == nil {
			return nil
		}
		try = again
		failures.Inc()
		if attempt == 0 || attempt%20 == 0 {
			log.Error("cannot insert batch, retrying", "rows", rows, "attempt", attempt+1, "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff/2 + rand.N(backoff/2+1)):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}
