package ops_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

func adminFixture(t *testing.T) (*ops.Service, ops.Actor, *store.Store) {
	t.Helper()
	st := storetest.Open(t, store.DialectSQLite, nil)
	svc := ops.New(ops.Params{Store: st})
	_, _, err := svc.EnsureAdmin(context.Background(), "correct-horse-9")
	require.NoError(t, err)
	u, err := st.UserByName(context.Background(), ops.AdminUsername)
	require.NoError(t, err)
	return svc, ops.Actor{UserID: u.ID, Username: u.Username, Role: u.Role}, st
}

func actorOf(u store.User) ops.Actor {
	return ops.Actor{UserID: u.ID, Username: u.Username, Role: u.Role}
}

func TestAllTokensAndRevoke(t *testing.T) {
	ctx := context.Background()
	svc, admin, _ := adminFixture(t)
	bob, err := svc.CreateUser(ctx, admin, "bob", "bob-password", store.RoleOperator)
	require.NoError(t, err)
	_, _, err = svc.CreateToken(ctx, actorOf(bob), "ci")
	require.NoError(t, err)
	_, _, err = svc.CreateToken(ctx, admin, "backup")
	require.NoError(t, err)

	toks, err := svc.AllTokens(ctx, admin)
	require.NoError(t, err)
	require.Len(t, toks, 2)
	require.Equal(t, "admin", toks[0].Owner)
	require.Equal(t, "backup", toks[0].Name)
	require.Equal(t, "bob", toks[1].Owner)
	require.Equal(t, "ci", toks[1].Name)

	_, err = svc.AllTokens(ctx, actorOf(bob))
	require.ErrorIs(t, err, fault.ErrForbidden)
	require.ErrorIs(t, svc.RevokeToken(ctx, actorOf(bob), toks[0].ID), fault.ErrForbidden)

	require.NoError(t, svc.RevokeToken(ctx, admin, toks[1].ID))
	require.ErrorIs(t, svc.RevokeToken(ctx, admin, toks[1].ID), fault.ErrNotFound)
	left, err := svc.Tokens(ctx, actorOf(bob))
	require.NoError(t, err)
	require.Empty(t, left)

	page, err := svc.AuditLog(ctx, admin, store.AuditQuery{Target: "token/"})
	require.NoError(t, err)
	require.Equal(t, "token.revoke", page.Entries[0].Action)
	require.Equal(t, `"ci" of bob`, page.Entries[0].Detail)
}

func TestResetPassword(t *testing.T) {
	ctx := context.Background()
	svc, admin, _ := adminFixture(t)
	bob, err := svc.CreateUser(ctx, admin, "bob", "bob-password", store.RoleViewer)
	require.NoError(t, err)

	err = svc.ResetPassword(ctx, admin, bob.ID, "short")
	ps, ok := fault.AsProblems(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, "password", ps[0].Path)
	require.ErrorIs(t, svc.ResetPassword(ctx, actorOf(bob), bob.ID, "new-password-1"), fault.ErrForbidden)
	require.ErrorIs(t, svc.ResetPassword(ctx, admin, 9999, "new-password-1"), fault.ErrNotFound)

	require.NoError(t, svc.ResetPassword(ctx, admin, bob.ID, "new-password-1"))
	_, err = svc.Login(ctx, "bob", "bob-password")
	require.ErrorIs(t, err, fault.ErrUnauthenticated)
	_, err = svc.Login(ctx, "bob", "new-password-1")
	require.NoError(t, err)
}

func TestAuditLogPaging(t *testing.T) {
	ctx := context.Background()
	svc, admin, st := adminFixture(t)
	// EnsureAdmin wrote one entry; add 7 more by two actors.
	for i := range 7 {
		who := "alice"
		if i%2 == 1 {
			who = "carol"
		}
		require.NoError(t, st.Audit(ctx, store.AuditEntry{Actor: who, Action: "jobnet.save", Target: "jobnet/sales/daily", Detail: string(rune('a' + i))}))
	}

	tests := []struct {
		name    string
		q       store.AuditQuery
		details []string
		older   bool
	}{
		{"first page", store.AuditQuery{Limit: 3}, []string{"g", "f", "e"}, true},
		{"by actor", store.AuditQuery{Actor: "carol", Limit: 5}, []string{"f", "d", "b"}, false},
		{"by target prefix", store.AuditQuery{Target: "jobnet/sales/", Limit: 10}, []string{"g", "f", "e", "d", "c", "b", "a"}, false},
		{"prefix is literal", store.AuditQuery{Target: "jobnet/%"}, nil, false},
		{"exact page size", store.AuditQuery{Actor: "alice", Limit: 4}, []string{"g", "e", "c", "a"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := svc.AuditLog(ctx, admin, tc.q)
			require.NoError(t, err)
			var got []string
			for _, e := range p.Entries {
				got = append(got, e.Detail)
			}
			require.Equal(t, tc.details, got)
			require.Equal(t, tc.older, p.Older != 0)
		})
	}

	// Following Older walks the whole log once, newest first.
	var all []string
	q := store.AuditQuery{Limit: 3}
	for {
		p, err := svc.AuditLog(ctx, admin, q)
		require.NoError(t, err)
		for _, e := range p.Entries {
			all = append(all, e.Action+":"+e.Detail)
		}
		if p.Older == 0 {
			break
		}
		q.Before = p.Older
	}
	require.Equal(t, []string{"jobnet.save:g", "jobnet.save:f", "jobnet.save:e", "jobnet.save:d", "jobnet.save:c", "jobnet.save:b", "jobnet.save:a", "user.create:first admin"}, all)

	_, err := svc.AuditLog(ctx, ops.Actor{Username: "v", Role: store.RoleViewer}, store.AuditQuery{})
	require.ErrorIs(t, err, fault.ErrForbidden)
	_, err = svc.AuditLog(ctx, admin, store.AuditQuery{Before: -1})
	require.ErrorIs(t, err, fault.ErrInvalid)
}
