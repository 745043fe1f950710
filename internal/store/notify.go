package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
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
)

// notifyRunners, inside a transaction, wakes the runners of every replica
// when it commits (PostgreSQL NOTIFY): there may be work for them (what:
// NotifyQueued for units queued, NotifyChanged for a generation inserted or
// an operator's action). On SQLite it does nothing: one process owns the
// database.
func notifyRunners(tx *gorm.DB, what string) error {
	if tx.Dialector.Name() != DialectPostgres {
		return nil
	}
	return translate(tx.Exec("SELECT pg_notify(?, ?)", runnerChannel, what).Error, "notify runners")
}

// ListenRunners calls wake with what was notified (NotifyQueued or
// NotifyChanged) whenever a transaction that notified the runners
// (notifyRunners) commits, in any process, until ctx ends; wake must not
// block. It holds one connection of the pool, and reconnects after a lost
// connection, calling wake(NotifyChanged) then too since notifications may
// have been missed. On SQLite it returns nil at once.
func (s *Store) ListenRunners(ctx context.Context, wake func(what string)) error {
	if s.dialect != DialectPostgres {
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
