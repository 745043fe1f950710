package ops

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/koyomi-dev/koyomi/internal/calendar"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// PasswordMinLength is the shortest password accepted.
const PasswordMinLength = 8

// AdminUsername is the name of the first admin.
const AdminUsername = "admin"

// ErrBadCredentials is returned for a wrong username or password (one
// message for both, so that usernames cannot be probed).
var ErrBadCredentials = fmt.Errorf("wrong username or password: %w", fault.ErrUnauthenticated)

// EnsureAdmin creates the first admin when no account exists. It returns the
// password it set when it generated one (to be printed once), else "".
func (s *Service) EnsureAdmin(ctx context.Context, password string) (created bool, generated string, err error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil || n > 0 {
		return false, "", err
	}
	if password == "" {
		if password, err = GeneratePassword(); err != nil {
			return false, "", err
		}
		generated = password
	}
	hash, err := hashPassword(password)
	if err != nil {
		return false, "", err
	}
	if _, err := s.store.CreateUser(ctx, store.User{Username: AdminUsername, PasswordHash: hash, Role: store.RoleAdmin}); err != nil {
		if errors.Is(err, fault.ErrConflict) { // another replica created it meanwhile
			return false, "", nil
		}
		return false, "", err
	}
	_ = s.store.Audit(ctx, store.AuditEntry{Actor: System.Username, Action: "user.create", Target: "user/" + AdminUsername, Detail: "first admin"})
	return true, generated, nil
}

// GeneratePassword returns a random password (16 URL-safe characters).
func GeneratePassword() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate a password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hashPassword(pw string) (string, error) {
	if len(pw) < PasswordMinLength {
		return "", fmt.Errorf("password: must be at least %d characters: %w", PasswordMinLength, fault.ErrInvalid)
	}
	if len(pw) > 72 {
		return "", fmt.Errorf("password: must be at most 72 bytes: %w", fault.ErrInvalid)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// Login checks a username and password.
func (s *Service) Login(ctx context.Context, username, password string) (store.User, error) {
	u, err := s.store.UserByName(ctx, username)
	if errors.Is(err, fault.ErrNotFound) {
		// Spend the same time as a real check.
		_ = bcrypt.CompareHashAndPassword([]byte("$2a$10$7EqJtq98hPqEX7fNZaFWoOhi5BWX4Z3ZrZ5.K7eY5x7FwI5Ukf0S2"), []byte(password))
		return store.User{}, ErrBadCredentials
	}
	if err != nil {
		return store.User{}, err
	}
	if u.Disabled || bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		_ = s.store.Audit(ctx, store.AuditEntry{Actor: username, Action: "login.failed", Target: "user/" + username})
		return store.User{}, ErrBadCredentials
	}
	_ = s.store.Audit(ctx, store.AuditEntry{Actor: username, Action: "login", Target: "user/" + username})
	return u, nil
}

// ChangePassword changes the actor's own password after checking the old one.
func (s *Service) ChangePassword(ctx context.Context, a Actor, old, new string) error {
	u, err := s.store.UserByID(ctx, a.UserID)
	if err != nil {
		return err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(old)) != nil {
		return fmt.Errorf("current password is wrong: %w", fault.ErrInvalid)
	}
	hash, err := hashPassword(new)
	if err != nil {
		return err
	}
	if err := s.store.UpdateUser(ctx, u.ID, store.UserUpdate{PasswordHash: &hash}); err != nil {
		return err
	}
	// Whoever knew the old password is signed out; the caller saves its own
	// session again.
	if err := s.store.SessionsEndForUser(ctx, u.ID); err != nil {
		return err
	}
	return s.store.Audit(ctx, store.AuditEntry{Actor: a.Username, Action: "user.password", Target: "user/" + u.Username})
}

// CreateUser adds an account (admins only).
func (s *Service) CreateUser(ctx context.Context, a Actor, username, password string, role store.Role) (store.User, error) {
	if a.Role != store.RoleAdmin {
		return store.User{}, fmt.Errorf("create user: %w", fault.ErrForbidden)
	}
	var ps fault.Problems
	if !validUsername(username) {
		ps.Add("username", "use 1-64 letters, digits, '.', '_' or '-'")
	}
	if !role.Valid() {
		ps.Add("role", "%q: want admin, designer, operator or viewer", role)
	}
	if len(password) < PasswordMinLength {
		ps.Add("password", "must be at least %d characters", PasswordMinLength)
	}
	if err := ps.Err(); err != nil {
		return store.User{}, err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return store.User{}, err
	}
	u, err := s.store.CreateUser(ctx, store.User{Username: username, PasswordHash: hash, Role: role})
	if err != nil {
		return store.User{}, err
	}
	return u, s.store.Audit(ctx, store.AuditEntry{Actor: a.Username, Action: "user.create", Target: "user/" + username, Detail: "role " + string(role)})
}

// UpdateUser changes another account's role or disabled flag (admins only).
func (s *Service) UpdateUser(ctx context.Context, a Actor, id int64, role *store.Role, disabled *bool) error {
	if a.Role != store.RoleAdmin {
		return fmt.Errorf("update user: %w", fault.ErrForbidden)
	}
	if role != nil && !role.Valid() {
		return fault.Problems{{Path: "role", Message: fmt.Sprintf("%q: want admin, designer, operator or viewer", *role)}}
	}
	if id == a.UserID && ((role != nil && *role != store.RoleAdmin) || (disabled != nil && *disabled)) {
		return fmt.Errorf("you cannot demote or disable your own account: %w", fault.ErrConflict)
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	if err := s.store.UpdateUser(ctx, id, store.UserUpdate{Role: role, Disabled: disabled}); err != nil {
		return err
	}
	detail := ""
	if role != nil {
		detail += "role " + string(*role) + " "
	}
	if disabled != nil {
		detail += fmt.Sprintf("disabled %v", *disabled)
	}
	return s.store.Audit(ctx, store.AuditEntry{Actor: a.Username, Action: "user.update", Target: "user/" + u.Username, Detail: strings.TrimSpace(detail)})
}

// SetLang stores the actor's language (en or ja).
func (s *Service) SetLang(ctx context.Context, a Actor, lang string) error {
	if lang != "en" && lang != "ja" {
		return fmt.Errorf("language %q: want en or ja: %w", lang, fault.ErrInvalid)
	}
	return s.store.UpdateUser(ctx, a.UserID, store.UserUpdate{Lang: &lang})
}

// SetTimeZone stores the IANA zone the actor reads times in ("": each
// page's calendar zone).
func (s *Service) SetTimeZone(ctx context.Context, a Actor, zone string) error {
	zone = strings.TrimSpace(zone)
	if zone != "" {
		if _, err := calendar.LoadZone(zone); err != nil {
			return fmt.Errorf("time zone: %w", err)
		}
	}
	return s.store.UpdateUser(ctx, a.UserID, store.UserUpdate{TimeZone: &zone})
}

func validUsername(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// TokenPrefix starts every API token, so that leaked tokens are recognisable.
const TokenPrefix = "koyomi_"

// CreateToken makes a new API token for the actor and returns its secret once.
func (s *Service) CreateToken(ctx context.Context, a Actor, name string) (string, store.APIToken, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", store.APIToken{}, fault.Problems{{Path: "name", Message: "give the token a name of 1-100 characters"}}
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", store.APIToken{}, err
	}
	secret := TokenPrefix + hex.EncodeToString(b)
	t, err := s.store.CreateAPIToken(ctx, a.UserID, name, tokenHash(secret))
	if err != nil {
		return "", store.APIToken{}, err
	}
	return secret, t, s.store.Audit(ctx, store.AuditEntry{Actor: a.Username, Action: "token.create", Target: "token/" + name})
}

// DeleteToken revokes one of the actor's tokens.
func (s *Service) DeleteToken(ctx context.Context, a Actor, id int64) error {
	if err := s.store.DeleteAPIToken(ctx, a.UserID, id); err != nil {
		return err
	}
	return s.store.Audit(ctx, store.AuditEntry{Actor: a.Username, Action: "token.delete", Target: fmt.Sprintf("token/%d", id)})
}

// AuthenticateToken returns the user of an API token.
func (s *Service) AuthenticateToken(ctx context.Context, secret string) (store.User, error) {
	if !strings.HasPrefix(secret, TokenPrefix) {
		return store.User{}, fmt.Errorf("malformed API token: %w", fault.ErrUnauthenticated)
	}
	u, err := s.store.UserByTokenHash(ctx, tokenHash(secret))
	if errors.Is(err, fault.ErrNotFound) {
		return store.User{}, fmt.Errorf("unknown API token: %w", fault.ErrUnauthenticated)
	}
	return u, err
}

func tokenHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// UserByID returns an account.
func (s *Service) UserByID(ctx context.Context, id int64) (store.User, error) {
	return s.store.UserByID(ctx, id)
}

// Users lists the accounts (admins only).
func (s *Service) Users(ctx context.Context, a Actor) ([]store.User, error) {
	if a.Role != store.RoleAdmin {
		return nil, fmt.Errorf("list users: %w", fault.ErrForbidden)
	}
	return s.store.Users(ctx)
}

// Tokens lists the actor's API tokens.
func (s *Service) Tokens(ctx context.Context, a Actor) ([]store.APIToken, error) {
	return s.store.APITokens(ctx, a.UserID)
}
