package ops

import (
	"context"
	"fmt"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// Known returns the names that exist in the database, for validating a bundle.
func (s *Service) Known(ctx context.Context) (jobnet.Known, error) {
	k := jobnet.Known{Folders: map[string]string{}}
	folders, err := s.store.Folders(ctx)
	if err != nil {
		return k, err
	}
	for _, f := range folders {
		k.Folders[f.Name] = f.Calendar
	}
	cals, err := s.store.Calendars(ctx)
	if err != nil {
		return k, err
	}
	for _, c := range cals {
		k.Calendars = append(k.Calendars, c.Name)
	}
	pools, err := s.store.Pools(ctx)
	if err != nil {
		return k, err
	}
	for _, p := range pools {
		k.Pools = append(k.Pools, p.Name)
	}
	jns, err := s.store.Jobnets(ctx, "")
	if err != nil {
		return k, err
	}
	for _, j := range jns {
		k.Jobnets = append(k.Jobnets, j.Path())
	}
	conns, err := s.store.Connections(ctx)
	if err != nil {
		return k, err
	}
	for _, c := range conns {
		k.Connections = append(k.Connections, c.Name)
	}
	k.CheckConnections = true
	return k, nil
}

// ApplyResult reports what an apply did.
type ApplyResult struct {
	Objects []store.AppliedObject
	// DryRun is set when nothing was written.
	DryRun bool
}

// Apply validates a bundle against itself and the database and, when valid,
// writes it in one transaction. An invalid bundle changes nothing and
// returns every problem with its path.
func (s *Service) Apply(ctx context.Context, a Actor, b *jobnet.Bundle, dryRun bool) (ApplyResult, error) {
	if a.Role != store.RoleAdmin && a.Role != store.RoleDesigner {
		return ApplyResult{}, fmt.Errorf("apply definitions: %w", fault.ErrForbidden)
	}
	if len(b.Connections) > 0 && a.Role != store.RoleAdmin {
		return ApplyResult{}, fmt.Errorf("apply connections: the admin role is required: %w", fault.ErrForbidden)
	}
	known, err := s.Known(ctx)
	if err != nil {
		return ApplyResult{}, err
	}
	withSecrets := *b
	if withSecrets.Connections, err = s.withStoredSecrets(ctx, b.Connections); err != nil {
		return ApplyResult{}, err
	}
	b = &withSecrets
	ps := jobnet.Validate(b, known)
	for i := range b.Jobnets {
		ps = append(ps, jobrun.CheckMacros(&b.Jobnets[i]).Prefix("jobnets["+b.Jobnets[i].Path()+"]")...)
	}
	for _, c := range b.Connections {
		ps = append(ps, jobnet.RequireSecrets("connections["+c.Name+"]", c)...)
	}
	if len(ps) > 0 {
		return ApplyResult{}, ps.Sorted()
	}
	if ps := s.checkCalendarsBuild(ctx, b); len(ps) > 0 {
		return ApplyResult{}, ps
	}
	defs := store.Definitions{Folders: b.Folders, Pools: b.Pools, Connections: b.Connections}
	for _, c := range b.Calendars {
		defs.Calendars = append(defs.Calendars, jobnet.NormalizedCalendar(c))
	}
	for i := range b.Jobnets {
		defs.Jobnets = append(defs.Jobnets, jobnet.Normalized(&b.Jobnets[i]))
	}
	if dryRun {
		return ApplyResult{DryRun: true}, nil
	}
	objs, err := s.store.ApplyDefinitions(ctx, defs, a.Username)
	if err != nil {
		return ApplyResult{}, err
	}
	for _, o := range objs {
		if o.Change == store.ChangeUnchanged {
			continue
		}
		detail := string(o.Change)
		if o.Version > 0 {
			detail = fmt.Sprintf("%s (version %d)", o.Change, o.Version)
		}
		if err := s.store.Audit(ctx, store.AuditEntry{Actor: a.Username, Action: "apply", Target: fmt.Sprintf("%s/%s", lower(o.Kind), o.Name), Detail: detail}); err != nil {
			return ApplyResult{}, err
		}
	}
	return ApplyResult{Objects: objs}, nil
}

// checkCalendarsBuild builds every calendar of the bundle with parents from
// the bundle or the database, so that parent cycles across the two are caught.
func (s *Service) checkCalendarsBuild(ctx context.Context, b *jobnet.Bundle) fault.Problems {
	defs := map[string]calendar.Definition{}
	stored, err := s.store.Calendars(ctx)
	if err != nil {
		return fault.Problems{{Path: "calendars", Message: err.Error()}}
	}
	for i := range stored {
		defs[stored[i].Name] = stored[i]
	}
	for i := range b.Calendars {
		defs[b.Calendars[i].Name] = b.Calendars[i]
	}
	var ps fault.Problems
	for _, c := range b.Calendars {
		if _, err := calendar.Build(c, calendar.MapResolver(defs)); err != nil {
			if cps, ok := fault.AsProblems(err); ok {
				ps = append(ps, cps...)
			} else {
				ps.Add(fmt.Sprintf("calendars[%s]", c.Name), "%v", err)
			}
		}
	}
	return ps
}

// Export returns the stored definitions (of one folder, or all) as a bundle.
func (s *Service) Export(ctx context.Context, folder string) (*jobnet.Bundle, error) {
	d, err := s.store.Snapshot(ctx, folder)
	if err != nil {
		return nil, err
	}
	b := &jobnet.Bundle{Folders: d.Folders, Calendars: d.Calendars, Pools: d.Pools}
	if b.Connections, err = s.exportConnections(ctx); err != nil {
		return nil, err
	}
	for _, j := range d.Jobnets {
		b.Jobnets = append(b.Jobnets, *j)
	}
	return b, nil
}

func lower(s string) string {
	out := []byte(s)
	for i, c := range out {
		if c >= 'A' && c <= 'Z' {
			out[i] = c + 32
		}
	}
	return string(out)
}
