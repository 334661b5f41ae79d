package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Goal kinds: a pageview of a path pattern, or a custom event by name.
const (
	GoalPage  = "page"
	GoalEvent = "event"
)

// Goal is a conversion a site counts: a visit that viewed a page matching
// Value (with * and ** wildcards) or sent an event named Value.
type Goal struct {
	SiteID  uint32
	ID      string
	Kind    string
	Value   string
	Created time.Time
}

// Name is how reports label the goal.
func (g *Goal) Name() string {
	if g.Kind == GoalPage {
		return "Visit " + g.Value
	}
	return g.Value
}

// Validate checks a goal before it is saved.
func (g *Goal) Validate() error {
	g.Value = strings.TrimSpace(g.Value)
	switch {
	case g.Kind != GoalPage && g.Kind != GoalEvent:
		return fmt.Errorf("invalid goal kind %q: use page or event", g.Kind)
	case g.Value == "" || len(g.Value) > 500:
		return fmt.Errorf("a goal needs a page path or event name of at most 500 bytes")
	case g.Kind == GoalPage && !strings.HasPrefix(g.Value, "/"):
		return fmt.Errorf("a page goal's path must start with /")
	}
	return nil
}

// condition is the goal as an event condition.
func (g *Goal) condition() sqlArgs {
	if g.Kind == GoalPage {
		f := Filter{Property: "event:page", Op: OpIs, Values: []string{g.Value}}
		c, _ := f.condition()
		return sqlArgs{sql: "(name = 'pageview' AND " + c.sql + ")", args: c.args}
	}
	return sqlArgs{sql: "name = ?", args: []any{g.Value}}
}

// SaveGoal creates a goal (allocating its ID) or replaces it.
func (s *Store) SaveGoal(ctx context.Context, g *Goal) error {
	if err := g.Validate(); err != nil {
		return err
	}
	if g.ID == "" {
		raw := make([]byte, 8)
		if _, err := rand.Read(raw); err != nil {
			return fmt.Errorf("cannot read random goal id: %w", err)
		}
		g.ID = hex.EncodeToString(raw)
		g.Created = time.Now().UTC().Truncate(time.Second)
	}
	return s.writeGoal(ctx, g, false)
}

func (s *Store) writeGoal(ctx context.Context, g *Goal, deleted bool) error {
	if err := s.insertRow(ctx, "INSERT INTO goals (site_id, id, kind, value, created, version, deleted)",
		g.SiteID, g.ID, g.Kind, g.Value, g.Created, uint64(time.Now().UnixNano()), b2u(deleted)); err != nil {
		return fmt.Errorf("cannot save goal: %w", err)
	}
	return nil
}

// RemoveGoal deletes one of a site's goals.
func (s *Store) RemoveGoal(ctx context.Context, siteID uint32, id string) error {
	goals, err := s.Goals(ctx, siteID)
	if err != nil {
		return err
	}
	for _, g := range goals {
		if g.ID == id {
			return s.writeGoal(ctx, &g, true)
		}
	}
	return fmt.Errorf("goal %s: %w", id, ErrNotFound)
}

// Goals lists a site's goals, oldest first.
func (s *Store) Goals(ctx context.Context, siteID uint32) ([]Goal, error) {
	rows, err := s.conn.Query(ctx, "SELECT site_id, id, kind, value, created FROM goals FINAL WHERE deleted = 0 AND site_id = ? ORDER BY created, id", siteID)
	if err != nil {
		return nil, fmt.Errorf("cannot query goals: %w", err)
	}
	defer rows.Close()
	var out []Goal
	for rows.Next() {
		var g Goal
		if err := rows.Scan(&g.SiteID, &g.ID, &g.Kind, &g.Value, &g.Created); err != nil {
			return nil, fmt.Errorf("cannot read goal: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}
