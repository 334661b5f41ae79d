package dashboard

import (
	"context"
	"sync"
)

// maxParallelQueries bounds the report queries one page runs at once.
const maxParallelQueries = 4

// parallel runs fns with at most maxParallelQueries at a time and returns the
// first error; the others see their context cancelled. Every goroutine has
// ended when it returns.
func parallel(ctx context.Context, fns ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		slots = make(chan struct{}, maxParallelQueries)
	)
	for _, fn := range fns {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := fn(ctx); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	return first
}
