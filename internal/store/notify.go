package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// runnerChannel is the PostgreSQL notification channel that wakes the
// runners of every replica.
const runnerChannel = "koyomi_runner"

// What a runner notification says (the argument of ListenRunners' wake).
const (
	// NotifyChanged: a generation was inserted or an operator acted; a
	// runner reads everything again.
	NotifyChanged = ""
	// NotifyQueued: an evaluation queued units; a runner claims them.
	NotifyQueued = "queued"
	// notifyUnits (followed by the writer's origin, WithOrigin): a runner
	// changed unit states; what other runners keep in memory about them
	// is stale (UnitsChangedBy).
	notifyUnits = "units "
)

type originKey struct{}

// WithOrigin names the runner whose writes ctx carries, so that the
// notifications of its unit changes (UnitsChangedBy) can be told apart from
// other runners'.
func WithOrigin(ctx context.Context, origin string) context.Context {
	return context.WithValue(ctx, originKey{}, origin)
}

// UnitsChangedBy reports whether a runner notification (ListenRunners)
// says that unit states were changed, and by which origin (WithOrigin; ""
// when the writer named none).
func UnitsChangedBy(what string) (origin string, ok bool) {
	return strings.CutPrefix(what, notifyUnits)
}

// notifyUnitsChanged, inside the transaction of a write that changed unit
// states, tells the runners of every replica once it commits, naming the
// writer (WithOrigin on the transaction's context).
func notifyUnitsChanged(tx *gorm.DB) error {
	origin, _ := tx.Statement.Context.Value(originKey{}).(string)
	return notifyRunners(tx, notifyUnits+origin)
}

// tellLocal calls the runners of this process listening on SQLite.
func (s *Store) tellLocal(what string) {
	s.localMu.Lock()
	fns := make([]func(string), 0, len(s.local))
	for fn := range s.local {
		fns = append(fns, *fn)
	}
	s.localMu.Unlock()
	for _, fn := range fns {
		fn(what)
	}
}

// otherProcessPoll is how often a runner on SQLite looks whether another
// process (a CLI writing the database file itself) committed.
const otherProcessPoll = 200 * time.Millisecond

// watchOtherProcesses calls wake(NotifyChanged) when another process has
// committed to the SQLite database since the last look (PRAGMA
// data_version changes for every commit but the connection's own; this
// process uses one connection), until ctx ends.
func (s *Store) watchOtherProcesses(ctx context.Context, wake func(string)) {
	tick := time.NewTicker(otherProcessPoll)
	defer tick.Stop()
	var last int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var v int64
		if err := s.db.WithContext(ctx).Raw("PRAGMA data_version").Scan(&v).Error; err != nil {
			continue
		}
		if last != 0 && v != last {
			wake(NotifyChanged)
		}
		last = v
	}
}

// pendingNotes collects, on SQLite, what a transaction tells this process's
// runners once it commits (Store.tx delivers them).
type pendingNotes struct{ notes []string }

type (
	pendingKey struct{}
	storeKey   struct{}
)

// notifyRunners, inside a transaction, wakes the runners of every replica
// when it commits: there may be work for them (what: NotifyQueued for units
// queued, NotifyChanged for a generation inserted or an operator's action,
// notifyUnits for unit states changed). On PostgreSQL it is a NOTIFY. On
// SQLite one process owns the database: its runners are told after the
// commit (Store.tx; a write outside a transaction, committed already, at
// once), except of units queued, which the runner that queued them claims
// in the same pass.
func notifyRunners(tx *gorm.DB, what string) error {
	if tx.Dialector.Name() == DialectPostgres {
		return translate(tx.Exec("SELECT pg_notify(?, ?)", runnerChannel, what).Error, "notify runners")
	}
	if what == NotifyQueued {
		return nil
	}
	ctx := tx.Statement.Context
	if p, ok := ctx.Value(pendingKey{}).(*pendingNotes); ok {
		if !slices.Contains(p.notes, what) {
			p.notes = append(p.notes, what)
		}
	} else if s, ok := ctx.Value(storeKey{}).(*Store); ok {
		s.tellLocal(what)
	}
	return nil
}

// ListenRunners calls wake with what was notified (NotifyQueued or
// NotifyChanged) whenever a transaction that notified the runners
// (notifyRunners) commits, in any process, until ctx ends; wake must not
// block. It holds one connection of the pool, and reconnects after a lost
// connection, calling wake(NotifyChanged) then too since notifications may
// have been missed. On SQLite what this process commits is told as it
// commits (NotifyChanged for generations inserted and operators' actions,
// and the unit changes of its runners, UnitsChangedBy), and a commit by
// another process (a CLI writing the file) as NotifyChanged within
// otherProcessPoll, until ctx ends.
func (s *Store) ListenRunners(ctx context.Context, wake func(what string)) error {
	if s.dialect != DialectPostgres {
		s.localMu.Lock()
		if s.local == nil {
			s.local = map[*func(string)]struct{}{}
		}
		s.local[&wake] = struct{}{}
		s.localMu.Unlock()
		defer func() {
			s.localMu.Lock()
			delete(s.local, &wake)
			s.localMu.Unlock()
		}()
		s.watchOtherProcesses(ctx, wake)
		return nil
	}
	for {
		err := s.listen(ctx, wake)
		if ctx.Err() != nil {
			return nil
		}
		_ = err // the connection was lost: listen again after a pause
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func (s *Store) listen(ctx context.Context, wake func(string)) error {
	conn, err := s.sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("listen for runner notifications: %w", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("listen for runner notifications: driver connection %T is not pgx", dc)
		}
		pc := sc.Conn()
		err := func() error {
			if _, err := pc.Exec(ctx, "LISTEN "+runnerChannel); err != nil {
				return err
			}
			wake(NotifyChanged)
			for {
				n, err := pc.WaitForNotification(ctx)
				if err != nil {
					return err
				}
				wake(n.Payload)
			}
		}()
		// The connection listens (or broke): never hand it back to the pool.
		return fmt.Errorf("listen for runner notifications: %w", errors.Join(err, driver.ErrBadConn))
	})
}
