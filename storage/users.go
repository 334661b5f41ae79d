package storage

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// Roles a user can have. An admin sees and manages everything; editors and
// viewers see only the sites listed in their SiteIDs, and only editors change them.
const (
	RoleAdmin  = "admin"
	RoleEditor = "editor"
	RoleViewer = "viewer"
)

// User is a dashboard account.
type User struct {
	Email        string
	PasswordHash string
	Role         string
	SiteIDs      []uint32
	Created      time.Time
}

// CanView reports whether the user may read site id's reports.
func (u *User) CanView(id uint32) bool {
	return u.Role == RoleAdmin || slices.Contains(u.SiteIDs, id)
}

// CanEdit reports whether the user may change site id's settings.
func (u *User) CanEdit(id uint32) bool {
	return u.Role == RoleAdmin || (u.Role == RoleEditor && slices.Contains(u.SiteIDs, id))
}

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 10

// argon2id parameters, OWASP's recommended minimum (19 MiB, 2 passes).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword hashes a password with argon2id and a random salt, in the PHC string format.
func HashPassword(password string) (string, error) {
	if len(password) < MinPasswordLength {
		return "", fmt.Errorf("password too short: use at least %d characters", MinPasswordLength)
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("cannot read random salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime,
		argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches a hash made by HashPassword.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var mem, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &p); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, mem, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// NewUser validates the fields and hashes the password of a new account.
func NewUser(email, password, role string, siteIDs []uint32) (User, error) {
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != strings.TrimSpace(email) {
		return User{}, fmt.Errorf("invalid email address %q", email)
	}
	switch role {
	case RoleAdmin:
	case RoleEditor, RoleViewer:
		if len(siteIDs) == 0 {
			return User{}, fmt.Errorf("a%s %s needs at least one site (--site DOMAIN)", map[bool]string{true: "n", false: ""}[role == RoleEditor], role)
		}
	default:
		return User{}, fmt.Errorf("invalid role %q: use admin, editor or viewer", role)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return User{}, err
	}
	return User{Email: strings.ToLower(addr.Address), PasswordHash: hash, Role: role, SiteIDs: siteIDs,
		Created: time.Now().UTC().Truncate(time.Second)}, nil
}

func nonNilIDs(ids []uint32) []uint32 {
	if ids == nil {
		return []uint32{}
	}
	return ids
}

// SaveUser creates or replaces an account.
func (s *Store) SaveUser(ctx context.Context, u *User) error {
	return s.writeUser(ctx, u, false)
}

func (s *Store) writeUser(ctx context.Context, u *User, deleted bool) error {
	err := s.insertRow(ctx, "INSERT INTO users (email, password_hash, role, site_ids, created, version, deleted)",
		u.Email, u.PasswordHash, u.Role, nonNilIDs(u.SiteIDs), u.Created, uint64(time.Now().UnixNano()), b2u(deleted))
	if err != nil {
		return fmt.Errorf("cannot save user %s: %w", u.Email, err)
	}
	return nil
}

// RemoveUser deletes an account and revokes its tokens.
func (s *Store) RemoveUser(ctx context.Context, email string) error {
	u, err := s.UserByEmail(ctx, email)
	if err != nil {
		return err
	}
	tokens, err := s.Tokens(ctx, u.Email)
	if err != nil {
		return err
	}
	for _, t := range tokens {
		if err := s.writeToken(ctx, &t, true); err != nil {
			return err
		}
	}
	return s.writeUser(ctx, &u, true)
}

func (s *Store) queryUsers(ctx context.Context, where string, args ...any) ([]User, error) {
	rows, err := s.conn.Query(ctx, "SELECT email, password_hash, role, site_ids, created FROM users FINAL WHERE deleted = 0"+where+" ORDER BY email", args...)
	if err != nil {
		return nil, fmt.Errorf("cannot query users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		if err := rows.Scan(&u.Email, &u.PasswordHash, &u.Role, &u.SiteIDs, &u.Created); err != nil {
			return nil, fmt.Errorf("cannot read user: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot read users: %w", err)
	}
	return out, nil
}

// Users lists the accounts.
func (s *Store) Users(ctx context.Context) ([]User, error) { return s.queryUsers(ctx, "") }

// UserByEmail finds an account.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	users, err := s.queryUsers(ctx, " AND email = ?", strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return User{}, err
	}
	if len(users) == 0 {
		return User{}, fmt.Errorf("user %s: %w", email, ErrNotFound)
	}
	return users[0], nil
}

// Token is an API token; only its SHA-256 is stored.
type Token struct {
	Hash    string
	Email   string
	Name    string
	Created time.Time
}

// HashToken is how a token is stored and looked up. Tokens are 256 random
// bits, so a fast hash is enough: there is nothing to brute-force.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// AddToken creates a token for a user and returns its secret, which is not stored.
func (s *Store) AddToken(ctx context.Context, email, name string) (string, error) {
	u, err := s.UserByEmail(ctx, email)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(name) == "" {
		return "", errors.New("a token needs a name (--name)")
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("cannot read random token: %w", err)
	}
	secret := "shd_" + base64.RawURLEncoding.EncodeToString(raw)
	t := Token{Hash: HashToken(secret), Email: u.Email, Name: strings.TrimSpace(name),
		Created: time.Now().UTC().Truncate(time.Second)}
	if err := s.writeToken(ctx, &t, false); err != nil {
		return "", err
	}
	return secret, nil
}

func (s *Store) writeToken(ctx context.Context, t *Token, deleted bool) error {
	err := s.insertRow(ctx, "INSERT INTO tokens (token_hash, email, name, created, version, deleted)",
		t.Hash, t.Email, t.Name, t.Created, uint64(time.Now().UnixNano()), b2u(deleted))
	if err != nil {
		return fmt.Errorf("cannot save token: %w", err)
	}
	return nil
}

// RevokeToken deletes a token by its stored hash.
func (s *Store) RevokeToken(ctx context.Context, hash string) error {
	tokens, err := s.queryTokens(ctx, " AND token_hash = ?", hash)
	if err != nil {
		return err
	}
	if len(tokens) == 0 {
		return fmt.Errorf("token: %w", ErrNotFound)
	}
	return s.writeToken(ctx, &tokens[0], true)
}

func (s *Store) queryTokens(ctx context.Context, where string, args ...any) ([]Token, error) {
	rows, err := s.conn.Query(ctx, "SELECT token_hash, email, name, created FROM tokens FINAL WHERE deleted = 0"+where+" ORDER BY created", args...)
	if err != nil {
		return nil, fmt.Errorf("cannot query tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var t Token
		if err := rows.Scan(&t.Hash, &t.Email, &t.Name, &t.Created); err != nil {
			return nil, fmt.Errorf("cannot read token: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Tokens lists a user's tokens.
func (s *Store) Tokens(ctx context.Context, email string) ([]Token, error) {
	return s.queryTokens(ctx, " AND email = ?", strings.ToLower(email))
}

// UserByToken authenticates an API token and returns its owner.
func (s *Store) UserByToken(ctx context.Context, secret string) (User, error) {
	tokens, err := s.queryTokens(ctx, " AND token_hash = ?", HashToken(secret))
	if err != nil {
		return User{}, err
	}
	if len(tokens) == 0 {
		return User{}, fmt.Errorf("token: %w", ErrNotFound)
	}
	return s.UserByEmail(ctx, tokens[0].Email)
}
