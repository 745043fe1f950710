package store

import (
	"context"
	"database/sql"
	"fmt"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// BadTextError means a text value holds a NUL byte or is not valid UTF-8:
// PostgreSQL cannot store it, so neither database accepts it. It unwraps to
// fault.ErrInvalid.
type BadTextError struct {
	// Offset is the byte offset of the first bad byte.
	Offset int
	// NUL: a NUL byte; else invalid UTF-8.
	NUL bool
}

func (e *BadTextError) Error() string {
	if e.NUL {
		return fmt.Sprintf("NUL byte at offset %d (text must be UTF-8 without NUL bytes)", e.Offset)
	}
	return fmt.Sprintf("invalid UTF-8 at offset %d (text must be UTF-8 without NUL bytes)", e.Offset)
}

// Unwrap makes it a fault.ErrInvalid.
func (e *BadTextError) Unwrap() error { return fault.ErrInvalid }

// CheckText returns a *BadTextError when s cannot be stored as text.
func CheckText(s string) error {
	for i := 0; i < len(s); {
		c := s[i]
		if c == 0 {
			return &BadTextError{Offset: i, NUL: true}
		}
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return &BadTextError{Offset: i}
		}
		i += n
	}
	return nil
}

func checkArgs(args []any) error {
	for _, a := range args {
		var s string
		switch v := a.(type) {
		case string:
			s = v
		case *string:
			if v == nil {
				continue
			}
			s = *v
		case sql.NullString:
			s = v.String
		default:
			continue
		}
		if err := CheckText(s); err != nil {
			return err
		}
	}
	return nil
}

// textGuard sits between gorm and database/sql and refuses statements whose
// text arguments PostgreSQL would reject, on every dialect: a NUL byte in a
// job parameter or a login name is bad input (fault.ErrInvalid), never a
// server error, and SQLite does not quietly keep what PostgreSQL refuses.
type textGuard struct{ db *sql.DB }

func (g *textGuard) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return g.db.PrepareContext(ctx, q)
}

func (g *textGuard) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if err := checkArgs(args); err != nil {
		return nil, err
	}
	return g.db.ExecContext(ctx, q, args...)
}

func (g *textGuard) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if err := checkArgs(args); err != nil {
		return nil, err
	}
	return g.db.QueryContext(ctx, q, args...)
}

// QueryRowContext cannot return an error of its own; the store does not use
// gorm's Row(), and PostgreSQL's own refusal is translated to ErrInvalid.
func (g *textGuard) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return g.db.QueryRowContext(ctx, q, args...)
}

// BeginTx makes gorm's transactions guarded too.
func (g *textGuard) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	tx, err := g.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &txGuard{tx}, nil
}

// GetDBConn lets gorm's DB() find the pool.
func (g *textGuard) GetDBConn() (*sql.DB, error) { return g.db, nil }

type txGuard struct{ tx *sql.Tx }

func (g *txGuard) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return g.tx.PrepareContext(ctx, q)
}

func (g *txGuard) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if err := checkArgs(args); err != nil {
		return nil, err
	}
	return g.tx.ExecContext(ctx, q, args...)
}

func (g *txGuard) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if err := checkArgs(args); err != nil {
		return nil, err
	}
	return g.tx.QueryContext(ctx, q, args...)
}

func (g *txGuard) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return g.tx.QueryRowContext(ctx, q, args...)
}

func (g *txGuard) Commit() error   { return g.tx.Commit() }
func (g *txGuard) Rollback() error { return g.tx.Rollback() }
