package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSQLiteConnectionsKeepStatements(t *testing.T) {
	ctx := context.Background()
	db, err := openSQLite(filepath.Join(t.TempDir(), "c.db") + "?_txlock=immediate&_time_format=sqlite")
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	_, err = db.ExecContext(ctx, "CREATE TABLE t (x INTEGER)")
	require.NoError(t, err)
	for i := range 3 {
		_, err = db.ExecContext(ctx, "INSERT INTO t (x) VALUES (?)", i)
		require.NoError(t, err)
	}
	kept := func() (n int, has func(string) bool) {
		conn, err := db.Conn(ctx)
		require.NoError(t, err)
		defer conn.Close()
		require.NoError(t, conn.Raw(func(dc any) error {
			c := dc.(*stmtCacheConn)
			n = c.lru.Len()
			qs := map[string]bool{}
			for q := range c.byQuery {
				qs[q] = true
			}
			has = func(q string) bool { return qs[q] }
			return nil
		}))
		return n, has
	}
	_, has := kept()
	require.True(t, has("INSERT INTO t (x) VALUES (?)"), "run three times, prepared once and kept")

	// The same SQL while its rows are being read (inside a transaction, on
	// the same connection) runs unprepared instead of resetting them.
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	rows, err := tx.QueryContext(ctx, "SELECT x FROM t ORDER BY x")
	require.NoError(t, err)
	var outer []int
	for rows.Next() {
		var x int
		require.NoError(t, rows.Scan(&x))
		outer = append(outer, x)
		var n int
		require.NoError(t, tx.QueryRowContext(ctx, "SELECT x FROM t ORDER BY x").Scan(&n))
		require.Equal(t, 0, n)
		_, err := tx.ExecContext(ctx, "INSERT INTO t (x) VALUES (?)", 10+x)
		require.NoError(t, err)
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	require.Equal(t, []int{0, 1, 2}, outer)
	require.NoError(t, tx.Commit())
	var count int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&count))
	require.Equal(t, 6, count)

	// The cache is bounded; an evicted statement is prepared again.
	for i := range stmtCacheSize + 10 {
		var v int
		require.NoError(t, db.QueryRowContext(ctx, fmt.Sprintf("SELECT %d", i)).Scan(&v))
		require.Equal(t, i, v)
	}
	n, has := kept()
	require.Equal(t, stmtCacheSize, n)
	require.False(t, has("INSERT INTO t (x) VALUES (?)"))
	_, err = db.ExecContext(ctx, "INSERT INTO t (x) VALUES (?)", 99)
	require.NoError(t, err)
}
