package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

// Text PostgreSQL cannot hold (a NUL byte, invalid UTF-8) is refused as
// invalid input on both databases, in writes, in queries and inside
// transactions, and nothing is written.
func TestTextThatPostgresCannotHoldIsInvalidOnBothDialects(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for _, bad := range []string{"ad\x00min", "ad\xffmin", "\xe7\xa5"} {
			_, err := s.CreateUser(ctx, store.User{Username: bad, PasswordHash: "x", Role: store.RoleViewer})
			require.ErrorIs(t, err, fault.ErrInvalid, "%q", bad)
			_, err = s.UserByName(ctx, bad)
			require.ErrorIs(t, err, fault.ErrInvalid, "%q", bad)
			defs := sampleDefs()
			defs.Folders[0].Description = bad
			_, err = s.ApplyDefinitions(ctx, defs, "alice")
			require.ErrorIs(t, err, fault.ErrInvalid, "in a transaction: %q", bad)
		}
		n, err := s.CountUsers(ctx)
		require.NoError(t, err)
		require.Zero(t, n)
		_, err = s.UserByName(ctx, "祝")
		require.ErrorIs(t, err, fault.ErrNotFound, "valid UTF-8 passes")
		folders, err := s.Folders(ctx)
		require.NoError(t, err)
		require.Empty(t, folders, "the failed apply wrote nothing")
	})
}

// The embedded database holds password hashes and connection secrets: only
// its owner may read it, also when it was created by an older version.
func TestSQLiteFileIsOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "koyomi.db")
	s := storetest.OpenURL(t, "sqlite:"+path)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	require.NoError(t, s.Close())

	require.NoError(t, os.Chmod(path, 0o644))
	storetest.OpenURL(t, "sqlite:"+path)
	fi, err = os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}
