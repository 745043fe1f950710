package store_test

import (
	"context"
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
