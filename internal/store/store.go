package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/libtnb/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/seal"
)

// Dialects.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// SQLitePathDefault is where the embedded database lives when no URL is given.
const SQLitePathDefault = "var/koyomi.db"

// Config opens a Store.
type Config struct {
	// URL is empty or sqlite:PATH for the embedded SQLite database, or a
	// postgres:// URL.
	URL string
	// Now is the clock for timestamps (default time.Now).
	Now func() time.Time
	// ExclusiveSQLite takes an exclusive lock file beside the SQLite
	// database: a second `koyomi serve` on the same file fails with a clear
	// error instead of corrupting the schedule.
	ExclusiveSQLite bool
	// MaxOpenConns bounds the PostgreSQL pool (default 20).
	MaxOpenConns int
	// Keys seal the secrets of connections and alert channels at rest
	// (nil: they are stored in plain, as before a key was set).
	Keys *seal.Keyring
}

// Store is the only place Koyomi talks SQL. It is safe for concurrent use.
type Store struct {
	db       *gorm.DB
	sqlDB    *sql.DB
	dialect  string
	location string
	now      func() time.Time
	lockFile *os.File
	// local are the runners of this process listening on SQLite
	// (ListenRunners), told of unit changes after commit.
	localMu sync.Mutex
	local   map[*func(string)]struct{}
	// installation caches InstallationID.
	installation atomic.Value
	// fileInfo is the embedded database file as opened.
	fileInfo os.FileInfo
	// keys seal stored secrets (nil: none configured).
	keys *seal.Keyring
}

// Open connects to the database named by cfg.URL.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	gcfg := &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return cfg.Now().UTC() },
		TranslateError:         true,
	}
	s := &Store{now: func() time.Time { return cfg.Now().UTC() }, keys: cfg.Keys}
	var err error
	switch {
	case strings.HasPrefix(cfg.URL, "postgres://"), strings.HasPrefix(cfg.URL, "postgresql://"):
		s.dialect = DialectPostgres
		s.location = redactURL(cfg.URL)
		s.db, err = gorm.Open(postgres.Open(cfg.URL), gcfg)
	case cfg.URL == "", strings.HasPrefix(cfg.URL, "sqlite:"), strings.HasSuffix(cfg.URL, ".db"):
		path := strings.TrimPrefix(cfg.URL, "sqlite:")
		if path == "" {
			path = SQLitePathDefault
		}
		s.dialect = DialectSQLite
		s.location = path
		if path != ":memory:" {
			if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
				return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
			}
			// Password hashes and connection secrets live here: owner only,
			// including a file an older version created more openly. The
			// WAL and shared-memory files SQLite creates take this mode.
			f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
			if err != nil {
				return nil, fmt.Errorf("open sqlite database %s: %w", path, err)
			}
			_ = f.Close()
			if err := os.Chmod(path, 0o600); err != nil {
				return nil, fmt.Errorf("restrict sqlite database %s to its owner: %w", path, err)
			}
			if cfg.ExclusiveSQLite {
				if s.lockFile, err = lockExclusive(path + ".lock"); err != nil {
					return nil, err
				}
			}
		}
		// Times are written as "2006-01-02 15:04:05.999999999-07:00" and
		// read back as time.Time from the columns declared DATETIME (or
		// DATE, TIMESTAMP); text in other columns stays text, however it
		// looks (business dates).
		dsn := path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate" +
			"&_time_format=sqlite"
		var conn *sql.DB
		if conn, err = openSQLite(dsn); err == nil {
			s.db, err = gorm.Open(sqlite.New(sqlite.Config{DSN: dsn, Conn: conn}), gcfg)
			if err != nil {
				_ = conn.Close()
			}
		}
	default:
		return nil, fmt.Errorf("database URL %q: want empty (embedded SQLite), sqlite:PATH or postgres://…: %w", redactURL(cfg.URL), fault.ErrInvalid)
	}
	if err != nil {
		s.unlock()
		return nil, fmt.Errorf("open %s database %s: %w", s.dialect, s.location, err)
	}
	if s.sqlDB, err = s.db.DB(); err != nil {
		s.unlock()
		return nil, fmt.Errorf("open %s database: %w", s.dialect, err)
	}
	s.db.ConnPool = &textGuard{s.sqlDB}
	s.db.Statement.ConnPool = s.db.ConnPool
	if s.dialect == DialectSQLite {
		// One writer at a time keeps SQLite free of SQLITE_BUSY under load;
		// WAL still lets the web read while the runner writes.
		s.sqlDB.SetMaxOpenConns(1)
	} else {
		n := cfg.MaxOpenConns
		if n <= 0 {
			n = 20
		}
		s.sqlDB.SetMaxOpenConns(n)
		s.sqlDB.SetMaxIdleConns(n)
		s.sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.sqlDB.PingContext(pctx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("connect to %s database %s: %w", s.dialect, s.location, err)
	}
	if s.dialect == DialectSQLite && s.location != ":memory:" {
		s.fileInfo, _ = os.Stat(s.location)
	}
	return s, nil
}

// openSQLite opens the embedded database through connections that keep
// their statements prepared (stmtCacheConnector).
func openSQLite(dsn string) (*sql.DB, error) {
	// sql.Open connects to nothing: it only names the registered driver.
	named, err := sql.Open(sqlite.DriverName, "")
	if err != nil {
		return nil, err
	}
	drv := named.Driver()
	_ = named.Close()
	return sql.OpenDB(&stmtCacheConnector{drv: drv, dsn: dsn}), nil
}

// Exclusive reports whether this process holds the embedded database's
// exclusive lock (Config.ExclusiveSQLite): no other koyomi process uses the
// database while it is open.
func (s *Store) Exclusive() bool { return s.lockFile != nil }

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// Location describes the database for logs (passwords redacted).
func (s *Store) Location() string { return s.location }

// Ping checks the connection (used by /readyz).
func (s *Store) Ping(ctx context.Context) error { return s.sqlDB.PingContext(ctx) }

// Close closes the database and releases the SQLite lock.
func (s *Store) Close() error {
	var err error
	if s.sqlDB != nil {
		err = s.sqlDB.Close()
	}
	s.unlock()
	return err
}

func (s *Store) unlock() {
	if s.lockFile != nil {
		_ = syscall.Flock(int(s.lockFile.Fd()), syscall.LOCK_UN)
		_ = s.lockFile.Close()
		s.lockFile = nil
	}
}

// ErrLocked means another process holds the embedded database.
var ErrLocked = fmt.Errorf("the embedded SQLite database is in use by another koyomi process (SQLite mode is single-process; use PostgreSQL for several replicas): %w", fault.ErrConflict)

func lockExclusive(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

func redactURL(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return u
	}
	cred := u[scheme+3 : at]
	if user, _, ok := strings.Cut(cred, ":"); ok {
		return u[:scheme+3] + user + ":***" + u[at:]
	}
	return u
}

// tx runs fn in a transaction with ctx.
func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if s.dialect == DialectPostgres {
		return s.db.WithContext(ctx).Transaction(fn)
	}
	p := &pendingNotes{}
	err := s.db.WithContext(context.WithValue(ctx, pendingKey{}, p)).Transaction(func(tx *gorm.DB) error {
		p.notes = p.notes[:0] // a retried transaction starts over
		return fn(tx)
	})
	if err == nil {
		for _, what := range p.notes {
			s.tellLocal(what)
		}
	}
	return err
}

// translate maps gorm errors to the fault categories.
func translate(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("%s: %w", what, fault.ErrNotFound)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%s: already exists: %w", what, fault.ErrConflict)
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return fmt.Errorf("%s: still referenced or refers to something missing: %w", what, fault.ErrConflict)
	case errors.Is(err, fault.ErrInvalid):
		return fmt.Errorf("%s: %w", what, err)
	}
	// PostgreSQL's own refusal of bad text (SQLSTATE 22021, 22P05), should a
	// value reach it past the guard.
	if msg := err.Error(); strings.Contains(msg, "SQLSTATE 22021") || strings.Contains(msg, "SQLSTATE 22P05") {
		return fmt.Errorf("%s: %v: %w", what, err, fault.ErrInvalid)
	}
	return fmt.Errorf("%s: %w", what, err)
}
