// Package loadgen is the HTTP load generator of the durability tests: it
// sends pageviews with unique paths and remembers which were acknowledged,
// so a test can check that each of them is stored exactly once.
package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// UserAgent is a browser's, so the collector does not drop the load as bots.
const UserAgent = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"

// Result is what the generator saw: the event numbers answered 202 and the
// count of each status.
type Result struct {
	mu      sync.Mutex
	acked   map[int]bool
	status  map[int]int
	noRetry int // 503s without Retry-After
	next    atomic.Int64
	wg      sync.WaitGroup
}

// Run sends pageviews for domain to url from workers clients until ctx ends;
// Wait waits for them to finish.
func Run(ctx context.Context, url, domain string, workers int) *Result {
	r := &Result{acked: map[int]bool{}, status: map[int]int{}}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for w := 0; w < workers; w++ {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			for ctx.Err() == nil {
				n := int(r.next.Add(1))
				body := fmt.Sprintf(`{"n":"pageview","u":"https://%s/e/%d","d":%q}`, domain, n, domain)
				req, _ := http.NewRequest("POST", url+"/api/event", strings.NewReader(body))
				req.Header.Set("User-Agent", UserAgent)
				resp, err := client.Do(req)
				if err != nil {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				r.mu.Lock()
				r.status[resp.StatusCode]++
				if resp.StatusCode == http.StatusAccepted {
					r.acked[n] = true
				}
				if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
					r.noRetry++
				}
				r.mu.Unlock()
				if resp.StatusCode == http.StatusServiceUnavailable {
					time.Sleep(20 * time.Millisecond)
				}
			}
			client.CloseIdleConnections()
		}()
	}
	return r
}

// Wait waits for every client to stop.
func (r *Result) Wait() { r.wg.Wait() }

// Accepted is the number of events answered 202 so far.
func (r *Result) Accepted() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.acked)
}

// Status is the number of replies with the given status so far.
func (r *Result) Status(code int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status[code]
}

// Verify checks that every acknowledged event of site is stored exactly
// once and that nothing is stored twice.
func (r *Result) Verify(t testing.TB, conn driver.Conn, site uint32) {
	t.Helper()
	rows, err := conn.Query(context.Background(), "SELECT pathname, count() FROM events WHERE site_id = ? GROUP BY pathname", site)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[int]uint64{}
	for rows.Next() {
		var p string
		var c uint64
		if err := rows.Scan(&p, &c); err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(strings.TrimPrefix(p, "/e/"))
		stored[n] = c
	}
	rows.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	missing, dup := 0, 0
	for n := range r.acked {
		if stored[n] == 0 {
			missing++
		}
	}
	for _, c := range stored {
		if c > 1 {
			dup++
		}
	}
	if missing > 0 || dup > 0 {
		t.Fatalf("%d acknowledged events missing, %d stored more than once (acknowledged %d, stored %d)",
			missing, dup, len(r.acked), len(stored))
	}
	if len(r.acked) == 0 {
		t.Fatal("no event was acknowledged: the load did not run")
	}
	if r.noRetry > 0 {
		t.Errorf("%d 503 replies without Retry-After", r.noRetry)
	}
	t.Logf("acknowledged %d, stored %d distinct, statuses %v", len(r.acked), len(stored), r.status)
}
