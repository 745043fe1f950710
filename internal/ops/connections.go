package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/dispatch/connect"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// ConnectionView is a connection as shown to people: without its secret,
// with whether one is stored and which jobnets use it.
type ConnectionView struct {
	// Connection is redacted (no external id, no token).
	jobnet.Connection
	SecretSet bool
	UpdatedAt time.Time
	// UsedBy lists the jobnets (folder/name) with jobs that run on it:
	// naming it, or naming none while it is the only connection of its type.
	UsedBy []string
}

// ErrConnectionInUse is returned when deleting a connection that jobnets use.
var ErrConnectionInUse = fmt.Errorf("connection in use: %w", fault.ErrConflict)

// ConnectionInUseError lists the jobnets that keep a connection from being deleted.
type ConnectionInUseError struct {
	Name    string
	Jobnets []string
}

func (e *ConnectionInUseError) Error() string {
	return fmt.Sprintf("connection %q is used by %s: change those jobs first", e.Name, strings.Join(e.Jobnets, ", "))
}

// Unwrap makes the error a conflict.
func (e *ConnectionInUseError) Unwrap() error { return ErrConnectionInUse }

// Connections lists every connection (admin only).
func (s *Service) Connections(ctx context.Context, a Actor) ([]ConnectionView, error) {
	if err := requireAdmin(a, "list connections"); err != nil {
		return nil, err
	}
	stored, err := s.store.Connections(ctx)
	if err != nil {
		return nil, err
	}
	users, err := s.connectionUsers(ctx, stored)
	if err != nil {
		return nil, err
	}
	out := make([]ConnectionView, len(stored))
	for i, c := range stored {
		out[i] = view(c, users[c.Name])
	}
	return out, nil
}

// Connection returns one connection (admin only).
func (s *Service) Connection(ctx context.Context, a Actor, name string) (ConnectionView, error) {
	if err := requireAdmin(a, "read connection"); err != nil {
		return ConnectionView{}, err
	}
	stored, err := s.store.Connections(ctx)
	if err != nil {
		return ConnectionView{}, err
	}
	i := slices.IndexFunc(stored, func(c store.StoredConnection) bool { return c.Name == name })
	if i < 0 {
		return ConnectionView{}, fmt.Errorf("connection %q: %w", name, fault.ErrNotFound)
	}
	users, err := s.connectionUsers(ctx, stored)
	if err != nil {
		return ConnectionView{}, err
	}
	return view(stored[i], users[name]), nil
}

func view(c store.StoredConnection, users []string) ConnectionView {
	return ConnectionView{Connection: c.Redacted(), SecretSet: c.HasSecret(), UpdatedAt: c.UpdatedAt, UsedBy: users}
}

// checkConnection validates one connection with its name; problems are
// under "connections[<name>]".
func checkConnection(c jobnet.Connection) error {
	ps := jobnet.Validate(&jobnet.Bundle{Connections: []jobnet.Connection{c}}, jobnet.Known{})
	ps = append(ps, jobnet.RequireSecrets("connections["+c.Name+"]", c)...)
	return ps.Err()
}

// CreateConnection stores a new connection (admin only, audited).
func (s *Service) CreateConnection(ctx context.Context, a Actor, c jobnet.Connection) error {
	if err := requireAdmin(a, "create connection"); err != nil {
		return err
	}
	if err := checkConnection(c); err != nil {
		return err
	}
	if err := s.store.CreateConnection(ctx, c); err != nil {
		return err
	}
	return s.store.Audit(ctx, store.AuditEntry{Actor: a.Username, Action: "create", Target: "connection/" + c.Name, Detail: string(c.Kind)})
}

// UpdateConnection replaces a connection's settings (admin only, audited).
// A connection given without its secret keeps the stored one unless
// clearSecret is set.
func (s *Service) UpdateConnection(ctx context.Context, a Actor, c jobnet.Connection, clearSecret bool) error {
	if err := requireAdmin(a, "update connection"); err != nil {
		return err
	}
	old, err := s.store.Connection(ctx, c.Name)
	if err != nil {
		return err
	}
	merged := c
	if !c.HasSecret() && !clearSecret && old.Kind == c.Kind {
		merged = c.WithSecret(old.Secret())
	}
	if err := checkConnection(merged); err != nil {
		return err
	}
	if err := s.store.UpdateConnection(ctx, merged, clearSecret); err != nil {
		return err
	}
	detail := string(c.Kind)
	switch {
	case clearSecret:
		detail += ", secret cleared"
	case c.HasSecret():
		detail += ", secret replaced"
	}
	return s.store.Audit(ctx, store.AuditEntry{Actor: a.Username, Action: "update", Target: "connection/" + c.Name, Detail: detail})
}

// DeleteConnection removes a connection (admin only, audited). It is
// refused with a *ConnectionInUseError (a conflict) while jobnets use it.
func (s *Service) DeleteConnection(ctx context.Context, a Actor, name string) error {
	if err := requireAdmin(a, "delete connection"); err != nil {
		return err
	}
	stored, err := s.store.Connections(ctx)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(stored, func(c store.StoredConnection) bool { return c.Name == name }) {
		return fmt.Errorf("delete connection %q: %w", name, fault.ErrNotFound)
	}
	users, err := s.connectionUsers(ctx, stored)
	if err != nil {
		return err
	}
	if len(users[name]) > 0 {
		return &ConnectionInUseError{Name: name, Jobnets: users[name]}
	}
	if err := s.store.DeleteConnection(ctx, name); err != nil {
		return err
	}
	return s.store.Audit(ctx, store.AuditEntry{Actor: a.Username, Action: "delete", Target: "connection/" + name})
}

// ConnectionTest is the outcome of testing a connection.
type ConnectionTest struct {
	OK bool
	// Message is what the connection reached, or why it failed.
	Message string
}

// TestConnection makes one harmless call through a stored connection (STS
// GetCallerIdentity for aws, the server version for kubernetes). A failing
// connection is a result, not an error; errors are for a missing
// connection or a forbidden caller.
func (s *Service) TestConnection(ctx context.Context, a Actor, name string, opts connect.Options) (ConnectionTest, error) {
	if err := requireAdmin(a, "test connection"); err != nil {
		return ConnectionTest{}, err
	}
	c, err := s.store.Connection(ctx, name)
	if err != nil {
		return ConnectionTest{}, err
	}
	msg, err := connect.Test(ctx, c.Connection, opts)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return ConnectionTest{}, err
		}
		s.log.Info("connection test failed", "connection", name, "err", err)
		return ConnectionTest{Message: err.Error()}, nil
	}
	return ConnectionTest{OK: true, Message: msg}, nil
}

// connectionUsers maps connection names to the jobnets (folder/name,
// sorted) whose current version has jobs that run on them.
func (s *Service) connectionUsers(ctx context.Context, stored []store.StoredConnection) (map[string][]string, error) {
	only := map[jobnet.JobType]string{} // job type → its only connection
	count := map[jobnet.JobType]int{}
	for _, c := range stored {
		t := c.Kind.JobType()
		count[t]++
		only[t] = c.Name
	}
	vs, err := s.store.CurrentJobnets(ctx, "")
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, v := range vs {
		names := map[string]bool{}
		jobnet.Walk(&v.Jobnet.Net, func(_ string, u *jobnet.Unit) {
			if u.Job == nil {
				return
			}
			var name string
			switch {
			case u.Job.Type == jobnet.JobECS && u.Job.ECS != nil:
				name = u.Job.ECS.Connection
			case u.Job.Type == jobnet.JobEKS && u.Job.EKS != nil:
				name = u.Job.EKS.Connection
			default:
				return
			}
			if name == "" && count[u.Job.Type] == 1 {
				name = only[u.Job.Type]
			}
			if name != "" {
				names[name] = true
			}
		})
		for n := range names {
			out[n] = append(out[n], v.Jobnet.Path())
		}
	}
	for n := range out {
		slices.Sort(out[n])
	}
	return out, nil
}

// withStoredSecrets returns the connections of an apply with the stored
// secret filled in where a connection of the same name and type gives
// none, so that applying an export (which leaves secrets out) validates
// and changes nothing.
func (s *Service) withStoredSecrets(ctx context.Context, cs []jobnet.Connection) ([]jobnet.Connection, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	stored, err := s.store.Connections(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]store.StoredConnection{}
	for _, c := range stored {
		byName[c.Name] = c
	}
	out := make([]jobnet.Connection, len(cs))
	var ps fault.Problems
	for i, c := range cs {
		out[i] = c
		old, ok := byName[c.Name]
		if !ok || c.HasSecret() || old.Kind != c.Kind || !old.HasSecret() {
			continue
		}
		// The stored secret goes only where it went before: a new server
		// or CA (kubernetes) or role (aws) needs it given again.
		switch {
		case c.Kubernetes != nil && old.Kubernetes != nil && (c.Kubernetes.Server != old.Kubernetes.Server || c.Kubernetes.CAData != old.Kubernetes.CAData):
			ps.Add("connections["+c.Name+"].kubernetes.token", "the server or CA changed (%s → %s): give the token again; the stored one is not sent to a new endpoint",
				old.Kubernetes.Server, c.Kubernetes.Server)
		case c.AWS != nil && old.AWS != nil && c.AWS.RoleARN != old.AWS.RoleARN:
			// The external id belonged to the old role; it is dropped.
		default:
			out[i] = c.WithSecret(old.Secret())
		}
	}
	return out, ps.Err()
}

// exportConnections returns the stored connections without their secrets.
func (s *Service) exportConnections(ctx context.Context) ([]jobnet.Connection, error) {
	stored, err := s.store.Connections(ctx)
	if err != nil {
		return nil, err
	}
	var out []jobnet.Connection
	for _, c := range stored {
		out = append(out, c.Redacted())
	}
	return out, nil
}
