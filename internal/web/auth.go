package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/views"
)

const (
	sessionCookie = "koyomi_session"
	csrfField     = "_csrf"
	csrfHeader    = "X-CSRF-Token"
)

// session is what a browser session stores.
type session struct {
	UserID int64        `json:"uid,omitempty"`
	CSRF   string       `json:"csrf"`
	Flash  *views.Flash `json:"flash,omitempty"`
	// Lang is the language before login (from Accept-Language, or chosen
	// on the login page: LangChosen, which login keeps for the user).
	Lang       string `json:"lang,omitempty"`
	LangChosen bool   `json:"lang_chosen,omitempty"`
}

type reqState struct {
	token string
	sess  session
	dirty bool
	user  *store.User
	api   bool
}

const stateKey = "koyomi.state"

func state(c echo.Context) *reqState {
	st, _ := c.Get(stateKey).(*reqState)
	if st == nil {
		st = &reqState{}
		c.Set(stateKey, st)
	}
	return st
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// loadSession reads (or starts) the browser session and checks CSRF on
// unsafe methods. API requests authenticate with a bearer token instead and
// need no CSRF token.
func (s *Server) loadSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		st := state(c)
		req := c.Request()
		ctx := req.Context()
		if authz := req.Header.Get("Authorization"); strings.HasPrefix(authz, "Bearer ") {
			u, err := s.p.Ops.AuthenticateToken(ctx, strings.TrimPrefix(authz, "Bearer "))
			if err != nil {
				return err
			}
			st.user, st.api = &u, true
			return next(c)
		}
		if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
			data, ok, err := s.p.Sessions.SessionFind(ctx, ck.Value)
			if err != nil {
				return err
			}
			if ok && json.Unmarshal(data, &st.sess) == nil {
				st.token = ck.Value
			}
		}
		if st.token == "" {
			st.token = randomToken(32)
			st.sess = session{CSRF: randomToken(24)}
			st.dirty = true
			// Saved before any page carries its CSRF token: a session that
			// cannot be saved is said plainly here, not later as a
			// "CSRF check failed" on the form's submission.
			if err := s.commitSession(c, st); err != nil {
				s.p.Logger.Error("save session", "err", err)
				return echo.NewHTTPError(http.StatusServiceUnavailable, "Koyomi cannot save your session: the database takes no writes (the server log has the details). Try again once it does.")
			}
		}
		if st.sess.UserID != 0 {
			u, err := s.p.Ops.UserByID(ctx, st.sess.UserID)
			if err == nil && !u.Disabled {
				st.user = &u
			} else {
				st.sess.UserID = 0
				st.dirty = true
			}
		}
		if m := req.Method; m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions {
			got := req.Header.Get(csrfHeader)
			if got == "" {
				got = c.FormValue(csrfField)
			}
			if subtle.ConstantTimeCompare([]byte(got), []byte(st.sess.CSRF)) != 1 {
				return echo.NewHTTPError(http.StatusForbidden, "The form was stale or forged (CSRF check failed). Reload the page and try again.")
			}
		}
		// Sessions are saved before the response is written.
		c.Response().Before(func() { s.saveSession(c, st) })
		return next(c)
	}
}

func (s *Server) saveSession(c echo.Context, st *reqState) {
	if !st.dirty && st.sess.Flash == nil {
		// Extend the cookie lifetime only occasionally.
		return
	}
	if err := s.commitSession(c, st); err != nil {
		s.p.Logger.Error("save session", "err", err)
	}
}

// commitSession stores the session and sets its cookie.
func (s *Server) commitSession(c echo.Context, st *reqState) error {
	data, _ := json.Marshal(st.sess)
	exp := s.p.Now().Add(SessionTTLDefault)
	if err := s.p.Sessions.SessionCommit(c.Request().Context(), st.token, st.sess.UserID, data, exp); err != nil {
		return err
	}
	st.dirty = false
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: st.token, Path: "/", HttpOnly: true, Secure: s.p.SecureCookies, SameSite: http.SameSiteLaxMode, Expires: exp})
	return nil
}

// flash sets a message for the next page.
func flash(c echo.Context, kind, text string) {
	st := state(c)
	st.sess.Flash = &views.Flash{Kind: kind, Text: text}
	st.dirty = true
}

// popFlash returns and clears the pending flash.
func popFlash(c echo.Context) *views.Flash {
	st := state(c)
	f := st.sess.Flash
	if f != nil {
		st.sess.Flash = nil
		st.dirty = true
	}
	return f
}

// actor returns the signed-in user as an ops.Actor.
func actor(c echo.Context) ops.Actor {
	st := state(c)
	if st.user == nil {
		return ops.Actor{}
	}
	return ops.Actor{UserID: st.user.ID, Username: st.user.Username, Role: st.user.Role}
}

// roleRank: which roles satisfy a route's requirement.
func allowed(have store.Role, need store.Role) bool {
	switch need {
	case store.RoleViewer:
		return have.Valid()
	case store.RoleOperator:
		return have == store.RoleOperator || have == store.RoleAdmin
	case store.RoleDesigner:
		return have == store.RoleDesigner || have == store.RoleAdmin
	case store.RoleAdmin:
		return have == store.RoleAdmin
	}
	return false
}

// require checks that a user with the role is signed in.
func require(need store.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			st := state(c)
			if st.user == nil {
				return fmt.Errorf("sign in first: %w", fault.ErrUnauthenticated)
			}
			if !allowed(st.user.Role, need) {
				return fmt.Errorf("this needs the %s role; you are %s: %w", need, st.user.Role, fault.ErrForbidden)
			}
			return next(c)
		}
	}
}

// loginThrottle locks a username or client address out for a while after
// repeated failures.
type loginThrottle struct {
	mu   sync.Mutex
	now  func() time.Time
	hits map[string][]time.Time
}

const (
	throttleWindow   = time.Minute
	throttleFailures = 5
)

func newLoginThrottle(now func() time.Time) *loginThrottle {
	return &loginThrottle{now: now, hits: map[string][]time.Time{}}
}

func (t *loginThrottle) blocked(keys ...string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	cut := t.now().Add(-throttleWindow)
	for _, k := range keys {
		hs := t.hits[k]
		n := 0
		for _, h := range hs {
			if h.After(cut) {
				hs[n] = h
				n++
			}
		}
		t.hits[k] = hs[:n]
		if n >= throttleFailures {
			return true
		}
	}
	return false
}

func (t *loginThrottle) fail(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		t.hits[k] = append(t.hits[k], t.now())
	}
}

func (t *loginThrottle) reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.hits, key)
}

// safeNext keeps redirects after login on this site.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || u.IsAbs() || u.Host != "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}
