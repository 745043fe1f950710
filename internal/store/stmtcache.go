package store

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"reflect"
)

// The embedded database's connections keep the statements they ran
// prepared, by SQL text. modernc.org/sqlite parses a statement again on
// every Exec or Query of the connection, and that parse was the largest
// single cost of the runner's SQL on SQLite; a prepared statement of the
// driver keeps its parsed form, so a statement run again (the runner runs
// the same few dozen over and over) is only bound and stepped.
//
// database/sql hands a connection to one goroutine at a time, so a
// connection's cache needs no lock. A statement whose rows are still being
// read is busy: the same SQL meanwhile (a query inside a loop over rows)
// runs unprepared.

// stmtCacheSize bounds the statements one connection keeps (the least
// recently used one is closed first): IN lists of every length make new
// SQL texts.
const stmtCacheSize = 256

// stmtCacheConnector opens connections of drv that keep their statements.
type stmtCacheConnector struct {
	drv driver.Driver
	dsn string
}

func (c *stmtCacheConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return newStmtCacheConn(conn)
}

func (c *stmtCacheConnector) Driver() driver.Driver { return c.drv }

// stmtConn is the interface set of modernc.org/sqlite's connection that
// database/sql uses.
type stmtConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

func newStmtCacheConn(conn driver.Conn) (driver.Conn, error) {
	c, ok := conn.(stmtConn)
	if !ok {
		_ = conn.Close()
		return nil, errors.New("the SQLite driver's connection lacks context methods")
	}
	return &stmtCacheConn{c: c, byQuery: map[string]*list.Element{}, lru: list.New()}, nil
}

type stmtCacheConn struct {
	c       stmtConn
	byQuery map[string]*list.Element
	lru     *list.List
}

type cachedStmt struct {
	query string
	st    driver.Stmt
	busy  bool
}

// stmt returns the prepared statement of query, preparing it on a miss,
// or nil when it is busy.
func (c *stmtCacheConn) stmt(ctx context.Context, query string) (*cachedStmt, error) {
	if e, ok := c.byQuery[query]; ok {
		cs := e.Value.(*cachedStmt)
		if cs.busy {
			return nil, nil
		}
		c.lru.MoveToFront(e)
		return cs, nil
	}
	st, err := c.c.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	cs := &cachedStmt{query: query, st: st}
	c.byQuery[query] = c.lru.PushFront(cs)
	for c.lru.Len() > stmtCacheSize {
		back := c.lru.Back()
		old := back.Value.(*cachedStmt)
		if old.busy {
			break
		}
		c.lru.Remove(back)
		delete(c.byQuery, old.query)
		_ = old.st.Close()
	}
	return cs, nil
}

func (c *stmtCacheConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.stmt(ctx, query)
	if err != nil || cs == nil {
		return c.c.ExecContext(ctx, query, args)
	}
	return cs.st.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *stmtCacheConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.stmt(ctx, query)
	if err != nil || cs == nil {
		return c.c.QueryContext(ctx, query, args)
	}
	rows, err := cs.st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	cs.busy = true
	return &cachedRows{Rows: rows, cs: cs}, nil
}

func (c *stmtCacheConn) Prepare(query string) (driver.Stmt, error) { return c.c.Prepare(query) }

func (c *stmtCacheConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.c.PrepareContext(ctx, query)
}

func (c *stmtCacheConn) Begin() (driver.Tx, error) { return c.c.Begin() } //nolint:staticcheck // required by driver.Conn

func (c *stmtCacheConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.c.BeginTx(ctx, opts)
}

func (c *stmtCacheConn) Ping(ctx context.Context) error { return c.c.Ping(ctx) }

func (c *stmtCacheConn) ResetSession(ctx context.Context) error { return c.c.ResetSession(ctx) }

func (c *stmtCacheConn) IsValid() bool { return c.c.IsValid() }

// Close closes the kept statements, then the connection.
func (c *stmtCacheConn) Close() error {
	for e := c.lru.Front(); e != nil; e = e.Next() {
		_ = e.Value.(*cachedStmt).st.Close()
	}
	c.lru.Init()
	clear(c.byQuery)
	return c.c.Close()
}

// cachedRows frees its statement for the next use when closed.
type cachedRows struct {
	driver.Rows
	cs *cachedStmt
}

func (r *cachedRows) Close() error {
	r.cs.busy = false
	return r.Rows.Close()
}

// The column metadata of modernc.org/sqlite's rows, which database/sql's
// ColumnTypes reads.
type columnTyper interface {
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(columnTyper); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(columnTyper); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypeNullable(i int) (bool, bool) {
	if t, ok := r.Rows.(columnTyper); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if t, ok := r.Rows.(columnTyper); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(columnTyper); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}
