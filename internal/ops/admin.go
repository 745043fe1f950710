package ops

import (
	"context"
	"fmt"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// OwnedToken is an API token with its owner's name (the admin's view).
type OwnedToken struct {
	store.APIToken
	Owner string
}

func requireAdmin(a Actor, what string) error {
	if a.Role != store.RoleAdmin {
		return fmt.Errorf("%s: needs the admin role: %w", what, fault.ErrForbidden)
	}
	return nil
}

// AllTokens lists the API tokens of every user, by owner then id (admins only).
func (s *Service) AllTokens(ctx context.Context, a Actor) ([]OwnedToken, error) {
	if err := requireAdmin(a, "list API tokens"); err != nil {
		return nil, err
	}
	users, err := s.store.Users(ctx)
	if err != nil {
		return nil, err
	}
	toks, err := s.store.APITokens(ctx, 0)
	if err != nil {
		return nil, err
	}
	byOwner := map[int64][]store.APIToken{}
	for _, t := range toks {
		byOwner[t.UserID] = append(byOwner[t.UserID], t)
	}
	var out []OwnedToken
	for _, u := range users { // users are sorted by name
		for _, t := range byOwner[u.ID] {
			out = append(out, OwnedToken{APIToken: t, Owner: u.Username})
		}
	}
	return out, nil
}

// RevokeToken deletes any user's API token (admins only).
func (s *Service) RevokeToken(ctx context.Context, a Actor, id int64) error {
	toks, err := s.AllTokens(ctx, a)
	if err != nil {
		return err
	}
	for _, t := range toks {
		if t.ID != id {
			continue
		}
		if err := s.store.DeleteAPIToken(ctx, t.UserID, id); err != nil {
			return fmt.Errorf("revoke API token %d: %w", id, err)
		}
		return s.store.Audit(ctx, store.AuditEntry{Actor: a.Username, Action: "token.revoke", Target: fmt.Sprintf("token/%d", id), Detail: fmt.Sprintf("%q of %s", t.Name, t.Owner)})
	}
	return fmt.Errorf("API token %d: %w", id, fault.ErrNotFound)
}

// ResetPassword sets another account's password (admins only); the user
// changes it on their account page afterwards.
func (s *Service) ResetPassword(ctx context.Context, a Actor, id int64, password string) error {
	if err := requireAdmin(a, "reset password"); err != nil {
		return err
	}
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return err
	}
	if len(password) < PasswordMinLength || len(password) > 72 {
		return fault.Problems{{Path: "password", Message: fmt.Sprintf("must be %d to 72 characters", PasswordMinLength)}}
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	if err := s.store.UpdateUser(ctx, id, store.UserUpdate{PasswordHash: &hash}); err != nil {
		return err
	}
	if err := s.store.SessionsEndForUser(ctx, id); err != nil {
		return err
	}
	return s.store.Audit(ctx, store.AuditEntry{Actor: a.Username, Action: "user.password.reset", Target: "user/" + u.Username})
}

// AuditPageSize is how many audit entries a page shows.
const AuditPageSize = 50

// AuditPage is one page of the audit log, newest first.
type AuditPage struct {
	Entries []store.AuditEntry
	// Older is the id to pass as Before for the next (older) page; 0 when
	// this is the last page.
	Older int64
}

// AuditLog reads a page of the audit log (admins only). Actor is an exact
// username, Target a prefix ("user/", "jobnet/sales/").
func (s *Service) AuditLog(ctx context.Context, a Actor, q store.AuditQuery) (AuditPage, error) {
	if err := requireAdmin(a, "read the audit log"); err != nil {
		return AuditPage{}, err
	}
	if q.Before < 0 {
		return AuditPage{}, fault.Problems{{Path: "before", Message: "must be a positive entry id"}}
	}
	if len(q.Actor) > 200 || len(q.Target) > 500 {
		return AuditPage{}, fault.Problems{{Path: "filter", Message: "filter is too long"}}
	}
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = AuditPageSize
	}
	want := q.Limit
	q.Limit++ // one more tells whether an older page exists
	es, err := s.store.AuditLog(ctx, q)
	if err != nil {
		return AuditPage{}, err
	}
	p := AuditPage{Entries: es}
	if len(es) > want {
		p.Entries = es[:want]
		p.Older = es[want-1].ID
	}
	return p, nil
}

// Installation returns this installation's id (store.InstallationID).
func (s *Service) Installation(ctx context.Context) (string, error) {
	return s.store.InstallationID(ctx)
}

// SecretsStatus reports how the stored secrets of connections and alert
// channels are kept: sealed with the current key, with an older one, or
// in plain (admins only).
func (s *Service) SecretsStatus(ctx context.Context, a Actor) (store.SecretsReport, error) {
	if err := requireAdmin(a, "read the secrets status"); err != nil {
		return store.SecretsReport{}, err
	}
	return s.store.SecretsStatus(ctx)
}

// RotateSecrets seals every stored secret with the current key (admins
// only; audited).
func (s *Service) RotateSecrets(ctx context.Context, a Actor) (store.SecretsReport, error) {
	if err := requireAdmin(a, "rotate the secrets key"); err != nil {
		return store.SecretsReport{}, err
	}
	return s.store.RotateSecrets(ctx, a.Username)
}
