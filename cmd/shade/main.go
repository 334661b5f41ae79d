// Command shade runs Shade: the collector and dashboard (serve), schema
// migrations, site, user and token administration, and demo traffic.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/shade-analytics/shade/storage"
)

const usage = `Shade: privacy-first web analytics.

Usage:
  shade serve [flags]                      collector + dashboard (managed ClickHouse without --clickhouse)
  shade migrate [flags]                    apply database migrations
  shade site add DOMAIN [--timezone TZ] [--matomo-id N]
  shade site list | site remove DOMAIN
  shade user add EMAIL --role admin|editor|viewer [--site DOMAIN]   (password on stdin)
  shade user list | user remove EMAIL
  shade token add --user EMAIL --name NAME (prints the token once)
  shade demo [--site DOMAIN] [--visits N] [--days N]

Every flag can also be set as SHADE_<FLAG> in the environment, e.g.
SHADE_CLICKHOUSE, SHADE_DATA_DIR, SHADE_LISTEN. Run "shade COMMAND -h" for its flags.
`

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, logger, os.Args[1:], os.Stdin, os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "shade:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, logger *slog.Logger, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return errors.New("missing command")
	}
	cmd, rest := args[0], args[1:]
	sub := func() (string, []string) {
		if len(rest) == 0 {
			return "", nil
		}
		return rest[0], rest[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, logger, rest, stdout)
	case "migrate":
		return migrate(ctx, logger, rest, stdout)
	case "site":
		s, r := sub()
		return siteCmd(ctx, logger, s, r, stdout)
	case "user":
		s, r := sub()
		return userCmd(ctx, logger, s, r, stdin, stdout)
	case "token":
		s, r := sub()
		return tokenCmd(ctx, logger, s, r, stdout)
	case "demo":
		return demo(ctx, logger, rest, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stdout, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// dbFlags are the storage flags every command takes.
type dbFlags struct {
	dsn     string
	dataDir string
}

func (d *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.dsn, "clickhouse", "", "ClickHouse DSN (clickhouse://user:pass@host:9000/shade); empty runs a managed local ClickHouse")
	fs.StringVar(&d.dataDir, "data-dir", "./shade-data", "directory for the managed ClickHouse and the spool")
}

// parse parses args after taking defaults from SHADE_* variables: a flag
// given on the command line wins over the environment.
func parse(fs *flag.FlagSet, args []string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := "SHADE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("invalid %s=%q: %w", env, v, e)
			}
		}
	})
	if err != nil {
		return err
	}
	return fs.Parse(args)
}

// database opens the store, starting a managed server when no DSN is given,
// and applies migrations. The returned function closes both.
func (d *dbFlags) open(ctx context.Context, logger *slog.Logger) (*storage.Store, func(), error) {
	var managed *storage.Managed
	dsn := d.dsn
	if dsn == "" {
		var err error
		managed, err = storage.StartManaged(ctx, storage.ManagedConfig{DataDir: d.dataDir, Logger: logger})
		if err != nil {
			return nil, nil, err
		}
		dsn = managed.DSN("shade")
	}
	stopManaged := func() {
		if managed != nil {
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = managed.Stop(sctx)
		}
	}
	st, err := storage.Open(ctx, storage.Config{DSN: dsn, DialTimeout: 10 * time.Second})
	if err != nil {
		stopManaged()
		return nil, nil, err
	}
	applied, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		stopManaged()
		return nil, nil, err
	}
	for _, name := range applied {
		logger.Info("applied migration", "name", name)
	}
	return st, func() { st.Close(); stopManaged() }, nil
}
