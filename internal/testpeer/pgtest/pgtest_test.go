package pgtest

import (
	"context"
	"database/sql"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}

func TestDatabaseIsFreshAndUsable(t *testing.T) {
	u1 := Database(t)
	u2 := Database(t)
	require.NotEqual(t, u1, u2)
	db, err := sql.Open("pgx", u1)
	require.NoError(t, err)
	defer db.Close()
	var v string
	require.NoError(t, db.QueryRowContext(context.Background(), "SHOW server_version").Scan(&v))
	require.Contains(t, v, "15.")
}
