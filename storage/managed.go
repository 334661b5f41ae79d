package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"
)

// ErrNoClickHouse is returned when no clickhouse-server binary can be found.
var ErrNoClickHouse = errors.New("clickhouse-server not found in PATH: install it with " +
	"`sudo apt-get install -y clickhouse-server clickhouse-client` (Debian/Ubuntu), " +
	"or pass --clickhouse with the DSN of a running server")

// ManagedConfig configures a ClickHouse server that Shade runs as a child process.
type ManagedConfig struct {
	// DataDir holds the server's generated config, data and logs (in DataDir/clickhouse).
	DataDir string
	// Binary is the server executable; default "clickhouse-server" looked up in PATH.
	Binary string
	// StartTimeout bounds the wait for the server to answer; default 60s.
	StartTimeout time.Duration
	// Logger receives start and stop messages; default slog.Default().
	Logger *slog.Logger
}

// Managed is a running ClickHouse server owned by this process.
type Managed struct {
	cmd      *exec.Cmd
	dir      string
	tcpAddr  string
	httpAddr string
	exited   chan struct{}
	waitErr  error
	log      *slog.Logger
	borrowed bool // another Shade process owns the server; Stop leaves it running
	bin      string
	timeout  time.Duration
}

// StartManaged starts clickhouse-server with a generated configuration bound to
// loopback on free ports, reusing the data already under DataDir, and waits
// until it answers. A server left running by a previous process that died is
// stopped first, so its data directory can be reused.
func StartManaged(ctx context.Context, cfg ManagedConfig) (*Managed, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("storage: managed ClickHouse needs a data directory")
	}
	if cfg.Binary == "" {
		cfg.Binary = "clickhouse-server"
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	bin, err := exec.LookPath(cfg.Binary)
	if err != nil {
		return nil, ErrNoClickHouse
	}
	dir, err := filepath.Abs(filepath.Join(cfg.DataDir, "clickhouse"))
	if err != nil {
		return nil, fmt.Errorf("cannot resolve data directory: %w", err)
	}
	for _, sub := range []string{"data", "tmp", "user_files", "format_schemas", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("cannot create %s: %w", filepath.Join(dir, sub), err)
		}
	}
	if m := borrow(dir, cfg.Logger); m != nil {
		return m, nil
	}
	stopStale(dir, cfg.Logger)
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	m := &Managed{
		dir:      dir,
		tcpAddr:  net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		httpAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])),
		log:      cfg.Logger,
	}
	if err := m.writeConfig(ports[0], ports[1]); err != nil {
		return nil, err
	}
	m.bin, m.timeout = bin, cfg.StartTimeout
	if err := m.launch(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// launch starts the server process on the configuration already written
// and waits until it answers.
func (m *Managed) launch(ctx context.Context) error {
	out, err := os.OpenFile(filepath.Join(m.dir, "log", "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("cannot open ClickHouse log: %w", err)
	}
	m.exited = make(chan struct{})
	m.cmd = exec.Command(m.bin, "--config-file="+filepath.Join(m.dir, "config.xml"))
	m.cmd.Dir = m.dir
	m.cmd.Stdout = out
	m.cmd.Stderr = out
	// Its own process group keeps a Ctrl-C in the terminal from reaching the
	// server before Shade has flushed into it; Pdeathsig stops it if Shade dies.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := m.cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("cannot start %s: %w", m.bin, err)
	}
	_ = os.WriteFile(filepath.Join(m.dir, "server.pid"), []byte(strconv.Itoa(m.cmd.Process.Pid)), 0o600)
	_ = os.WriteFile(filepath.Join(m.dir, "server.addr"), []byte(m.tcpAddr+" "+m.httpAddr), 0o600)
	cmd, exited := m.cmd, m.exited
	go func() {
		m.waitErr = cmd.Wait()
		out.Close()
		close(exited)
	}()
	if err := m.waitReady(ctx, m.timeout); err != nil {
		_ = m.Stop(context.Background())
		return err
	}
	m.log.Info("managed ClickHouse started", "addr", m.tcpAddr, "dir", m.dir)
	return nil
}

// Restart starts the server again after Stop or Kill, on the same ports and
// data; outage tests use it.
func (m *Managed) Restart(ctx context.Context) error {
	if m.borrowed {
		return errors.New("cannot restart a ClickHouse owned by another process")
	}
	select {
	case <-m.exited:
	default:
		return errors.New("managed ClickHouse is still running")
	}
	return m.launch(ctx)
}

// Addr is the host:port of the server's native protocol.
func (m *Managed) Addr() string { return m.tcpAddr }

// HTTPAddr is the host:port of the server's HTTP interface.
func (m *Managed) HTTPAddr() string { return m.httpAddr }

// DSN is a DSN for this server and the given database.
func (m *Managed) DSN(database string) string { return DSN(m.tcpAddr, database) }

// Exited is closed when the server process has ended.
func (m *Managed) Exited() <-chan struct{} { return m.exited }

// Stop asks the server to shut down and waits for it, killing it when ctx ends first
// or after 30 seconds.
func (m *Managed) Stop(ctx context.Context) error {
	if m.borrowed {
		return nil
	}
	select {
	case <-m.exited:
		return nil
	default:
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case <-m.exited:
	case <-ctx.Done():
		_ = m.cmd.Process.Kill()
		<-m.exited
	case <-timer.C:
		_ = m.cmd.Process.Kill()
		<-m.exited
	}
	_ = os.Remove(filepath.Join(m.dir, "server.pid"))
	_ = os.Remove(filepath.Join(m.dir, "server.addr"))
	m.log.Info("managed ClickHouse stopped")
	return nil
}

// Kill ends the server at once, as a crash would; tests of outages use it.
func (m *Managed) Kill() {
	if m.borrowed {
		return
	}
	_ = m.cmd.Process.Kill()
	<-m.exited
}

func (m *Managed) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get("http://" + m.httpAddr + "/ping")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.HasPrefix(string(body), "Ok") {
				return nil
			}
		}
		select {
		case <-m.exited:
			return fmt.Errorf("clickhouse-server exited during start-up (%v); see %s", m.waitErr,
				filepath.Join(m.dir, "log"))
		case <-ctx.Done():
			return fmt.Errorf("cannot start ClickHouse: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("clickhouse-server did not answer within %s; see %s", timeout,
				filepath.Join(m.dir, "log"))
		}
	}
}

// borrow returns the server another Shade process runs on this data
// directory when it answers, so that `shade site add` next to a running
// `shade serve` shares its server instead of fighting over the directory.
func borrow(dir string, log *slog.Logger) *Managed {
	raw, err := os.ReadFile(filepath.Join(dir, "server.addr"))
	if err != nil {
		return nil
	}
	tcp, httpAddr, ok := strings.Cut(strings.TrimSpace(string(raw)), " ")
	if !ok {
		return nil
	}
	client := &http.Client{Timeout: time.Second}
	resp, err := client.Get("http://" + httpAddr + "/ping")
	if err != nil {
		return nil
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	log.Info("using the managed ClickHouse of a running Shade", "addr", tcp)
	m := &Managed{dir: dir, tcpAddr: tcp, httpAddr: httpAddr, exited: make(chan struct{}), log: log, borrowed: true}
	return m
}

// stopStale ends a server that a previous, crashed Shade left running on this
// data directory: two servers cannot share it.
func stopStale(dir string, log *slog.Logger) {
	raw, err := os.ReadFile(filepath.Join(dir, "server.pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || pid <= 1 {
		return
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), filepath.Join(dir, "config.xml")) {
		return
	}
	log.Warn("stopping a managed ClickHouse left running by a previous process", "pid", pid)
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 300; i++ {
		if err := syscall.Kill(pid, 0); err != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("cannot find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

var serverConfig = template.Must(template.New("config").Parse(`<?xml version="1.0"?>
<!-- Generated by Shade for its managed local ClickHouse; rewritten at every start. -->
<yandex>
    <logger>
        <level>warning</level>
        <log>{{.Dir}}/log/clickhouse-server.log</log>
        <errorlog>{{.Dir}}/log/clickhouse-server.err.log</errorlog>
        <size>10M</size>
        <count>3</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>{{.TCP}}</tcp_port>
    <http_port>{{.HTTP}}</http_port>
    <path>{{.Dir}}/data/</path>
    <tmp_path>{{.Dir}}/tmp/</tmp_path>
    <user_files_path>{{.Dir}}/user_files/</user_files_path>
    <format_schema_path>{{.Dir}}/format_schemas/</format_schema_path>
    <users_config>{{.Dir}}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
    <timezone>UTC</timezone>
</yandex>
`))

const usersConfig = `<?xml version="1.0"?>
<!-- Generated by Shade: one passwordless user, reachable from loopback only. -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default></default>
    </quotas>
</yandex>
`

func (m *Managed) writeConfig(tcp, http int) error {
	f, err := os.Create(filepath.Join(m.dir, "config.xml"))
	if err != nil {
		return fmt.Errorf("cannot write ClickHouse config: %w", err)
	}
	err = serverConfig.Execute(f, map[string]any{"Dir": m.dir, "TCP": tcp, "HTTP": http})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot write ClickHouse config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(m.dir, "users.xml"), []byte(usersConfig), 0o600); err != nil {
		return fmt.Errorf("cannot write ClickHouse users config: %w", err)
	}
	return nil
}
