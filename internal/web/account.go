package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/views"
	"github.com/koyomi-dev/koyomi/views/pages"
)

func clientKey(c echo.Context) string { return "ip:" + c.RealIP() }

func (s *Server) loginPage(c echo.Context) error {
	if state(c).user != nil {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	s.guessLang(c)
	return s.render(c, http.StatusOK, pages.Login(pages.LoginView{Next: safeNext(c.QueryParam("next"))}))
}

// guessLang picks the login page language from Accept-Language.
func (s *Server) guessLang(c echo.Context) {
	st := state(c)
	if st.sess.Lang != "" {
		return
	}
	if strings.HasPrefix(c.Request().Header.Get("Accept-Language"), "ja") {
		st.sess.Lang = "ja"
		st.dirty = true
	}
}

func (s *Server) loginSubmit(c echo.Context) error {
	username := strings.TrimSpace(c.FormValue("username"))
	next := safeNext(c.FormValue("next"))
	ctx := views.WithPage(c.Request().Context(), s.pageContext(c))
	userKey := "user:" + username
	if s.throttle.blocked(userKey, clientKey(c)) {
		return s.render(c, http.StatusTooManyRequests, pages.Login(pages.LoginView{Username: username, Next: next, Error: views.T(ctx, "login.throttled")}))
	}
	u, err := s.p.Ops.Login(c.Request().Context(), username, c.FormValue("password"))
	if err != nil {
		if errors.Is(err, fault.ErrUnauthenticated) {
			s.throttle.fail(userKey, clientKey(c))
			return s.render(c, http.StatusUnauthorized, pages.Login(pages.LoginView{Username: username, Next: next, Error: views.T(ctx, "login.failed")}))
		}
		return err
	}
	s.throttle.reset(userKey)
	st := state(c)
	chosen := ""
	if st.sess.LangChosen {
		chosen = st.sess.Lang
	}
	// A new session token on login prevents session fixation.
	old := st.token
	st.token = randomToken(32)
	st.sess = session{UserID: u.ID, CSRF: randomToken(24)}
	st.user = &u
	st.dirty = true
	// The language chosen on the login page becomes the user's.
	if chosen != "" && chosen != u.Lang {
		if err := s.p.Ops.SetLang(c.Request().Context(), actor(c), chosen); err != nil {
			return err
		}
		st.user.Lang = chosen
	}
	if old != "" {
		_ = s.p.Sessions.SessionDelete(c.Request().Context(), old)
	}
	return c.Redirect(http.StatusSeeOther, next)
}

func (s *Server) logout(c echo.Context) error {
	st := state(c)
	_ = s.p.Sessions.SessionDelete(c.Request().Context(), st.token)
	st.token = randomToken(32)
	st.sess = session{CSRF: randomToken(24)}
	st.user = nil
	st.dirty = true
	return c.Redirect(http.StatusSeeOther, "/login")
}

func (s *Server) accountView(c echo.Context, v pages.AccountView) (pages.AccountView, error) {
	toks, err := s.p.Ops.Tokens(c.Request().Context(), actor(c))
	if err != nil {
		return v, err
	}
	if u := state(c).user; u != nil && v.TimeZoneError == "" {
		v.TimeZone = u.TimeZone
	}
	v.Zones = accountZones
	v.ShownZone = s.zoneOf(c, nil).String()
	for _, t := range toks {
		row := pages.TokenRow{ID: t.ID, Name: t.Name, Created: s.stamp(c, t.CreatedAt, calendar.StampDateTime)}
		if t.LastUsed != nil {
			row.LastUsed = s.stamp(c, *t.LastUsed, calendar.StampDateTime)
		}
		v.Tokens = append(v.Tokens, row)
	}
	return v, nil
}

func (s *Server) accountPage(c echo.Context) error {
	v, err := s.accountView(c, pages.AccountView{})
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, pages.Account(v))
}

func (s *Server) accountPassword(c echo.Context) error {
	err := s.p.Ops.ChangePassword(c.Request().Context(), actor(c), c.FormValue("current"), c.FormValue("new"))
	if errors.Is(err, fault.ErrInvalid) {
		v, verr := s.accountView(c, pages.AccountView{PasswordError: err.Error()})
		if verr != nil {
			return verr
		}
		return s.render(c, http.StatusUnprocessableEntity, pages.Account(v))
	}
	if err != nil {
		return err
	}
	// The service ended every session of the account; this one goes on
	// under a new token.
	st := state(c)
	st.token = randomToken(32)
	st.dirty = true
	flash(c, "success", "Password changed.")
	return redirect(c, "/account")
}

// accountZones are the zones the account page suggests (any IANA name is
// accepted).
var accountZones = []string{"UTC", "Asia/Tokyo", "Asia/Seoul", "Asia/Shanghai", "Asia/Singapore", "Asia/Kolkata",
	"Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York", "America/Chicago", "America/Los_Angeles", "Australia/Sydney"}

// accountTimeZone stores the zone the user reads times in ("": each page's
// calendar zone); a name that is not an IANA zone is refused on the form.
func (s *Server) accountTimeZone(c echo.Context) error {
	zone := strings.TrimSpace(c.FormValue("time_zone"))
	err := s.p.Ops.SetTimeZone(c.Request().Context(), actor(c), zone)
	if errors.Is(err, fault.ErrInvalid) {
		v, verr := s.accountView(c, pages.AccountView{TimeZoneError: err.Error(), TimeZone: zone})
		if verr != nil {
			return verr
		}
		return s.render(c, http.StatusUnprocessableEntity, pages.Account(v))
	}
	if err != nil {
		return err
	}
	state(c).user.TimeZone = zone
	flash(c, "success", "Time zone saved.")
	return redirect(c, "/account")
}

func (s *Server) accountLang(c echo.Context) error {
	lang := c.FormValue("lang")
	if err := s.p.Ops.SetLang(c.Request().Context(), actor(c), lang); err != nil {
		return err
	}
	state(c).user.Lang = lang
	return redirect(c, "/account")
}

func (s *Server) accountTokenCreate(c echo.Context) error {
	secret, _, err := s.p.Ops.CreateToken(c.Request().Context(), actor(c), c.FormValue("name"))
	if errors.Is(err, fault.ErrInvalid) {
		v, verr := s.accountView(c, pages.AccountView{TokenError: err.Error()})
		if verr != nil {
			return verr
		}
		return s.render(c, http.StatusUnprocessableEntity, pages.Account(v))
	}
	if err != nil {
		return err
	}
	v, err := s.accountView(c, pages.AccountView{NewToken: secret})
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, pages.Account(v))
}

func (s *Server) accountTokenDelete(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "bad token id")
	}
	if err := s.p.Ops.DeleteToken(c.Request().Context(), actor(c), id); err != nil {
		return err
	}
	flash(c, "success", "Token revoked.")
	return redirect(c, "/account")
}

func (s *Server) apiMe(c echo.Context) error {
	u := state(c).user
	return c.JSON(http.StatusOK, map[string]any{"username": u.Username, "role": u.Role, "lang": u.Lang})
}
