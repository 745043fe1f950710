package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

// NUL bytes and invalid UTF-8 anywhere in a request are bad input (422)
// naming the field, on both databases, before and after login.
func TestBadTextIsUnprocessableNeverAServerError(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			e := newOpsEnv(t, d)
			for _, bad := range []string{"ad\x00min", "ad\xffmin"} {
				c := e.ts.client(t)
				c.get("/login")
				resp, body := c.post("/login", url.Values{"username": {bad}, "password": {"whatever-1"}})
				require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "%q: %s", bad, body)
				require.Contains(t, body, "username")
			}

			tok := e.ts.adminToken(t)
			var apiErr struct {
				Error    string
				Problems []struct{ Path, Message string }
			}
			for _, body := range []string{`{"params":{"A":"x\u0000y"}}`, "{\"params\":{\"A\":\"x\xffy\"}}"} {
				apiErr.Problems = nil
				require.Equal(t, http.StatusUnprocessableEntity, apiCall(t, e.ts.URL, tok, "POST", "/api/v1/jobnets/f/batch/run", "application/json", body, &apiErr), body)
				require.NotEmpty(t, apiErr.Problems)
				require.Equal(t, "body.params.A", apiErr.Problems[0].Path)
			}
			require.Equal(t, http.StatusUnprocessableEntity, apiCall(t, e.ts.URL, tok, "GET", "/api/v1/generations?jobnet=f%00x", "", "", &apiErr))
			require.Equal(t, "query.jobnet", apiErr.Problems[0].Path)
			require.Equal(t, http.StatusUnprocessableEntity, apiCall(t, e.ts.URL, tok, "GET", "/api/v1/jobnets/f/%FF", "", "", &apiErr))

			gs, err := e.ts.Ops.Generations(context.Background(), store.GenerationQuery{})
			require.NoError(t, err)
			require.Empty(t, gs, "nothing was started")

			// Run now from the CLI path: the service refuses the value too.
			_, err = e.ts.Ops.RunNow(context.Background(), ops.System, ops.RunNowRequest{Jobnet: "f/batch", Params: map[string]string{"A": "x\x00"}})
			require.Error(t, err)
			require.Contains(t, err.Error(), "params.A")
		})
	}
}

// A long note is cut on a character boundary, never inside one.
func TestCalendarNoteIsCutOnARuneBoundary(t *testing.T) {
	e := newOpsEnv(t, store.DialectSQLite)
	note := strings.Repeat("a", 199) + "祝日"
	e.client.get("/calendars/company")
	resp, body := e.client.post("/calendars/company/day/2026-06-03", url.Values{"note": {note}})
	require.Less(t, resp.StatusCode, 400, body)
	def, _, err := e.ts.Store.CalendarDef(context.Background(), "company")
	require.NoError(t, err)
	raw, _ := json.Marshal(def)
	require.Contains(t, string(raw), strings.Repeat("a", 199)+`"`, "the note ends before the character that does not fit")
	require.NotContains(t, string(raw), `\ufffd`)
}
