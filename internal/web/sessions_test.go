package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

// Changing a password signs the account out everywhere else; resetting
// another user's password signs that user out everywhere.
func TestPasswordChangeEndsTheUsersOtherSessions(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			ts := newTestServer(t, d)
			ctx := context.Background()
			here := ts.client(t).login("admin", adminPassword)
			elsewhere := ts.client(t).login("admin", adminPassword)

			resp, body := here.post("/account/password", url.Values{"current": {adminPassword}, "new": {"new-password-1"}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
			resp, _ = here.get("/account")
			require.Equal(t, http.StatusOK, resp.StatusCode, "the session that changed it stays signed in")
			resp, _ = elsewhere.get("/account")
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, "the other session is signed out")

			_, err := ts.Ops.CreateUser(ctx, ops.Actor{Username: "admin", Role: store.RoleAdmin}, "olga", "olga-password-1", store.RoleOperator)
			require.NoError(t, err)
			olga := ts.client(t).login("olga", "olga-password-1")
			u, err := ts.Store.UserByName(ctx, "olga")
			require.NoError(t, err)
			here.get("/admin/users")
			resp, body = here.post("/admin/users/"+strconv.FormatInt(u.ID, 10)+"/password", url.Values{"password": {"reset-password-1"}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
			resp, _ = olga.get("/")
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, "a reset signs the user out")
		})
	}
}
