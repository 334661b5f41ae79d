package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shade-analytics/shade/internal/chtest"
	"github.com/shade-analytics/shade/storage"
)

func TestMigrateIsIdempotent(t *testing.T) {
	st := chtest.Store(t)
	applied, err := st.Migrate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Errorf("second Migrate applied %v, want nothing", applied)
	}
}

func TestSites(t *testing.T) {
	ctx := context.Background()
	st := chtest.Store(t)
	a := storage.NewSite("Example.com")
	if err := st.SaveSite(ctx, &a); err != nil {
		t.Fatal(err)
	}
	b := storage.NewSite("other.org")
	b.MatomoID = 7
	b.Timezone = "Europe/Paris"
	if err := st.SaveSite(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if a.ID == b.ID || a.ID == 0 {
		t.Fatalf("got ids %d and %d, want distinct non-zero", a.ID, b.ID)
	}
	dup := storage.NewSite("example.com")
	if err := st.SaveSite(ctx, &dup); err == nil {
		t.Error("saving a duplicate domain succeeded, want an error")
	}
	got, err := st.SiteByMatomoID(ctx, 7)
	if err != nil || got.Domain != "other.org" || got.Timezone != "Europe/Paris" {
		t.Errorf("SiteByMatomoID(7) = %+v, %v", got, err)
	}
	b.KeepParams = []string{"q"}
	if err := st.SaveSite(ctx, &b); err != nil {
		t.Fatal(err)
	}
	got, _ = st.SiteByID(ctx, b.ID)
	if len(got.KeepParams) != 1 || got.KeepParams[0] != "q" {
		t.Errorf("after update, KeepParams = %v, want [q]", got.KeepParams)
	}
	if err := st.RemoveSite(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SiteByDomain(ctx, "example.com"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("removed site lookup: got %v, want ErrNotFound", err)
	}
	sites, _ := st.Sites(ctx)
	if len(sites) != 1 {
		t.Errorf("got %d sites, want 1", len(sites))
	}
	bad := storage.NewSite("https://x.com/")
	if err := st.SaveSite(ctx, &bad); err == nil {
		t.Error("a URL was accepted as a domain")
	}
}

func TestUsersAndTokens(t *testing.T) {
	ctx := context.Background()
	st := chtest.Store(t)
	if _, err := storage.NewUser("a@example.com", "short", storage.RoleAdmin, nil); err == nil {
		t.Error("short password accepted")
	}
	if _, err := storage.NewUser("v@example.com", "long enough password", storage.RoleViewer, nil); err == nil {
		t.Error("viewer without a site accepted")
	}
	u, err := storage.NewUser("Admin@Example.com", "correct horse battery", storage.RoleAdmin, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	got, err := st.UserByEmail(ctx, "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !storage.CheckPassword(got.PasswordHash, "correct horse battery") {
		t.Error("the right password does not check")
	}
	if storage.CheckPassword(got.PasswordHash, "correct horse batterY") {
		t.Error("a wrong password checks")
	}
	secret, err := st.AddToken(ctx, "admin@example.com", "ci")
	if err != nil {
		t.Fatal(err)
	}
	owner, err := st.UserByToken(ctx, secret)
	if err != nil || owner.Email != "admin@example.com" {
		t.Errorf("UserByToken = %v, %v", owner.Email, err)
	}
	if err := st.RemoveUser(ctx, "admin@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UserByToken(ctx, secret); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("token of a removed user: got %v, want ErrNotFound", err)
	}
}

// Privacy invariant 3: salts are random, shared, and gone 48 hours after their day began.
func TestSaltsRotateAndExpire(t *testing.T) {
	ctx := context.Background()
	st := chtest.Store(t)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	today, err := st.Salt(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(today) != storage.SaltLength {
		t.Fatalf("salt length %d, want %d", len(today), storage.SaltLength)
	}
	again, _ := st.Salt(ctx, now.Add(time.Hour))
	if string(again) != string(today) {
		t.Error("the same day got two salts")
	}
	old, _ := st.Salt(ctx, now.Add(-72*time.Hour))
	yesterday, _ := st.Salt(ctx, now.Add(-24*time.Hour))
	if string(old) == string(today) || string(yesterday) == string(today) {
		t.Error("different days share a salt")
	}
	n, err := st.DeleteExpiredSalts(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("deleted %d days of salts, want 1", n)
	}
	var count uint64
	if err := st.Conn().QueryRow(ctx, "SELECT count() FROM salts WHERE day < toDate(?)", now.Add(-48*time.Hour).Format(time.DateOnly)).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != 0 {
		t.Errorf("%d salts older than 48 hours remain", count)
	}
	if err := st.Conn().QueryRow(ctx, "SELECT count() FROM salts").Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != 2 {
		t.Errorf("%d salts remain, want today's and yesterday's", count)
	}
}
