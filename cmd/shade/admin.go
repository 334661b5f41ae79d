package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/shade-analytics/shade/storage"
)

func migrate(ctx context.Context, logger *slog.Logger, args []string, stdout io.Writer) error {
	var db dbFlags
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	db.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	_, closeDB, err := db.open(ctx, logger)
	if err != nil {
		return err
	}
	closeDB()
	fmt.Fprintln(stdout, "schema is up to date")
	return nil
}

// interleave lets flags follow positional arguments (shade site add example.com --timezone X).
func interleave(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	if err := parse(fs, nil); err != nil {
		return nil, err
	}
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func siteCmd(ctx context.Context, logger *slog.Logger, sub string, args []string, stdout io.Writer) error {
	var db dbFlags
	fs := flag.NewFlagSet("site "+sub, flag.ContinueOnError)
	db.register(fs)
	tz := fs.String("timezone", "UTC", "IANA timezone of the site's reports")
	matomoID := fs.Uint("matomo-id", 0, "numeric Matomo idsite that maps to this site")
	pos, err := interleave(fs, args)
	if err != nil {
		return err
	}
	switch sub {
	case "add", "remove":
		if len(pos) != 1 {
			return fmt.Errorf("usage: shade site %s DOMAIN", sub)
		}
	case "list":
	default:
		return errors.New("usage: shade site add|list|remove")
	}
	st, closeDB, err := db.open(ctx, logger)
	if err != nil {
		return err
	}
	defer closeDB()
	switch sub {
	case "add":
		site := storage.NewSite(pos[0])
		site.Timezone = *tz
		site.MatomoID = uint32(*matomoID)
		if err := st.SaveSite(ctx, &site); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added site %s (id %d, timezone %s)\n", site.Domain, site.ID, site.Timezone)
	case "remove":
		if err := st.RemoveSite(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed site %s\n", pos[0])
	case "list":
		sites, err := st.Sites(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tDOMAIN\tTIMEZONE\tMATOMO ID\tIP TRUNCATION")
		for _, s := range sites {
			fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%d\n", s.ID, s.Domain, s.Timezone, s.MatomoID, s.IPTruncation)
		}
		w.Flush()
	}
	return nil
}

// readPassword reads one line from stdin: the password is never a flag, so
// it stays out of shell history and process listings.
func readPassword(stdin io.Reader) (string, error) {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", errors.New("cannot read the password from standard input: pipe it in, e.g. `echo \"$PW\" | shade user add ...`")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func userCmd(ctx context.Context, logger *slog.Logger, sub string, args []string, stdin io.Reader, stdout io.Writer) error {
	var db dbFlags
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	db.register(fs)
	role := fs.String("role", "", "admin, editor or viewer")
	var sites multiFlag
	fs.Var(&sites, "site", "site DOMAIN an editor or viewer may see (repeatable)")
	pos, err := interleave(fs, args)
	if err != nil {
		return err
	}
	switch sub {
	case "add", "remove":
		if len(pos) != 1 {
			return fmt.Errorf("usage: shade user %s EMAIL", sub)
		}
	case "list":
	default:
		return errors.New("usage: shade user add|list|remove")
	}
	var password string
	if sub == "add" {
		if password, err = readPassword(stdin); err != nil {
			return err
		}
	}
	st, closeDB, err := db.open(ctx, logger)
	if err != nil {
		return err
	}
	defer closeDB()
	switch sub {
	case "add":
		var ids []uint32
		for _, d := range sites {
			s, err := st.SiteByDomain(ctx, d)
			if err != nil {
				return err
			}
			ids = append(ids, s.ID)
		}
		u, err := storage.NewUser(pos[0], password, *role, ids)
		if err != nil {
			return err
		}
		if err := st.SaveUser(ctx, &u); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added %s %s\n", u.Role, u.Email)
	case "remove":
		if err := st.RemoveUser(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed user %s\n", pos[0])
	case "list":
		users, err := st.Users(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "EMAIL\tROLE\tSITES")
		for _, u := range users {
			fmt.Fprintf(w, "%s\t%s\t%v\n", u.Email, u.Role, u.SiteIDs)
		}
		w.Flush()
	}
	return nil
}

func tokenCmd(ctx context.Context, logger *slog.Logger, sub string, args []string, stdout io.Writer) error {
	var db dbFlags
	fs := flag.NewFlagSet("token "+sub, flag.ContinueOnError)
	db.register(fs)
	user := fs.String("user", "", "EMAIL of the token's owner")
	name := fs.String("name", "", "what the token is for")
	if _, err := interleave(fs, args); err != nil {
		return err
	}
	if sub != "add" || *user == "" || *name == "" {
		return errors.New("usage: shade token add --user EMAIL --name NAME")
	}
	st, closeDB, err := db.open(ctx, logger)
	if err != nil {
		return err
	}
	defer closeDB()
	secret, err := st.AddToken(ctx, *user, *name)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, secret)
	return nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
