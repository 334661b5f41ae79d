package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shade-analytics/shade/internal/chtest"
	"github.com/shade-analytics/shade/internal/loadgen"
	"github.com/shade-analytics/shade/storage"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// shadeBinary builds the command once per test run.
func shadeBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "shade-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "shade")
		out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// process is a running `shade serve`.
type process struct {
	cmd  *exec.Cmd
	logs *strings.Builder
	done chan error
}

func startServe(t *testing.T, args ...string) *process {
	t.Helper()
	cmd := exec.Command(shadeBinary(t), append([]string{"serve"}, args...)...)
	logs := &strings.Builder{}
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return logs.Write(p) })
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, logs: logs, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return p
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func waitReady(t *testing.T, url string, p *process) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-p.done:
			t.Fatalf("shade exited: %v\n%s", err, p.logs)
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("shade not ready:\n%s", p.logs)
}

// stop sends SIGTERM and waits for a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("shade exited with %v:\n%s", err, p.logs)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("shade did not stop:\n%s", p.logs)
	}
}

// kill -9 the collector in the middle of sustained load, restart it: every
// event answered 202 is in ClickHouse exactly once.
func TestKillNineLosesNothing(t *testing.T) {
	st := chtest.Store(t)
	site := storage.NewSite("example.com")
	if err := st.SaveSite(context.Background(), &site); err != nil {
		t.Fatal(err)
	}
	dsn := chtest.Server(t).DSN(st.Database())
	addr := freeAddr(t)
	url := "http://" + addr
	args := []string{"--clickhouse", dsn, "--data-dir", t.TempDir(), "--listen", addr, "--flush-interval", "100ms"}
	p := startServe(t, args...)
	waitReady(t, url, p)

	ctx, stopLoad := context.WithCancel(context.Background())
	r := loadgen.Run(ctx, url, "example.com", 4)
	time.Sleep(3 * time.Second)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	killedAt := r.Accepted()
	p = startServe(t, args...)
	waitReady(t, url, p)
	time.Sleep(3 * time.Second)
	stopLoad()
	r.Wait()
	if r.Accepted() == killedAt {
		t.Fatal("no event accepted after the restart")
	}
	p.stop(t) // graceful: ships everything spooled
	r.Verify(t, st.Conn(), site.ID)
}

// The first command's path: serve with a managed ClickHouse, a subcommand
// beside it shares that server, events are stored, and the data outlives a
// restart.
func TestServeWithManagedClickHouse(t *testing.T) {
	chtest.Server(t) // needs clickhouse-server
	dir := t.TempDir()
	addr := freeAddr(t)
	url := "http://" + addr
	p := startServe(t, "--data-dir", dir, "--listen", addr, "--flush-interval", "100ms")
	waitReady(t, url, p)
	out, err := exec.Command(shadeBinary(t), "site", "add", "example.org", "--data-dir", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "added site example.org") {
		t.Fatalf("site add: %v\n%s", err, out)
	}
	time.Sleep(200 * time.Millisecond) // an unknown domain reloads the sites at most every 100 ms
	req, _ := http.NewRequest("POST", url+"/api/event", strings.NewReader(`{"n":"pageview","u":"https://example.org/x","d":"example.org"}`))
	req.Header.Set("User-Agent", loadgen.UserAgent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("event: %d %s", resp.StatusCode, body)
	}
	p.stop(t)
	if _, err := os.Stat(filepath.Join(dir, "clickhouse", "server.pid")); !os.IsNotExist(err) {
		t.Errorf("the managed ClickHouse was not stopped: %v", err)
	}
	// The next start reuses the data.
	p = startServe(t, "--data-dir", dir, "--listen", addr)
	waitReady(t, url, p)
	addrs, err := os.ReadFile(filepath.Join(dir, "clickhouse", "server.addr"))
	if err != nil {
		t.Fatal(err)
	}
	tcp, _, _ := strings.Cut(string(addrs), " ")
	st, err := storage.Open(context.Background(), storage.Config{DSN: storage.DSN(tcp, "shade")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n uint64
	if err := st.Conn().QueryRow(context.Background(), "SELECT count() FROM events WHERE pathname = '/x'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("after a restart, %d events, want 1", n)
	}
	p.stop(t)
}
