package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/views"
	"github.com/koyomi-dev/koyomi/views/pages"
)

// langSwitch stores the chosen language (for the user, or in the session
// before login) and returns to the page it came from.
func (s *Server) langSwitch(c echo.Context) error {
	lang := c.FormValue("lang")
	back := safeNext(c.FormValue("back"))
	st := state(c)
	if st.user != nil {
		if err := s.p.Ops.SetLang(c.Request().Context(), actor(c), lang); err != nil {
			return err
		}
		st.user.Lang = lang
	} else {
		if lang != "en" && lang != "ja" {
			return fmt.Errorf("language %q: want en or ja: %w", lang, fault.ErrInvalid)
		}
		st.sess.Lang, st.sess.LangChosen = lang, true
		st.dirty = true
	}
	return redirect(c, back)
}

// pathID reads the numeric :id path parameter.
func pathID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("bad id %q in the path", c.Param("id")))
	}
	return id, nil
}

func (s *Server) auditRows(c echo.Context, es []store.AuditEntry) []pages.AdminAuditRow {
	rows := make([]pages.AdminAuditRow, len(es))
	for i, e := range es {
		rows[i] = pages.AdminAuditRow{ID: e.ID, At: s.stamp(c, e.At, calendar.StampFull), Actor: e.Actor, Action: e.Action, Target: e.Target, Detail: e.Detail}
	}
	return rows
}

func (s *Server) adminHome(c echo.Context) error {
	ctx, a := c.Request().Context(), actor(c)
	users, err := s.p.Ops.Users(ctx, a)
	if err != nil {
		return err
	}
	toks, err := s.p.Ops.AllTokens(ctx, a)
	if err != nil {
		return err
	}
	recent, err := s.p.Ops.AuditLog(ctx, a, store.AuditQuery{Limit: 8})
	if err != nil {
		return err
	}
	inst, err := s.p.Ops.Installation(ctx)
	if err != nil {
		return err
	}
	sec, err := s.p.Ops.SecretsStatus(ctx, a)
	if err != nil {
		return err
	}
	v := pages.AdminHomeView{Users: len(users), Tokens: len(toks), Recent: s.auditRows(c, recent.Entries), Installation: inst,
		SecretsUnsealed: !sec.KeyConfigured, SecretsPending: sec.Pending(), SecretsKey: sec.CurrentKey}
	for _, u := range users {
		if u.Role == store.RoleAdmin {
			v.Admins++
		}
		if u.Disabled {
			v.Disabled++
		}
	}
	return s.render(c, http.StatusOK, pages.AdminHome(v))
}

func (s *Server) adminUsersView(c echo.Context, v pages.AdminUsersView) (pages.AdminUsersView, error) {
	a := actor(c)
	users, err := s.p.Ops.Users(c.Request().Context(), a)
	if err != nil {
		return v, err
	}
	for _, u := range users {
		v.Users = append(v.Users, pages.AdminUserRow{
			ID: u.ID, Username: u.Username, Role: string(u.Role), Lang: u.Lang,
			Created: s.stamp(c, u.CreatedAt, calendar.StampDateTime), Disabled: u.Disabled, Self: u.ID == a.UserID,
		})
	}
	if v.Role == "" {
		v.Role = string(store.RoleViewer)
	}
	return v, nil
}

func (s *Server) adminUsers(c echo.Context) error {
	v, err := s.adminUsersView(c, pages.AdminUsersView{})
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, pages.AdminUsers(v))
}

// problemMap turns validation findings into field → message; findings
// without a known field go under "".
func problemMap(err error, fields ...string) map[string]string {
	m := map[string]string{}
	ps, ok := fault.AsProblems(err)
	if !ok {
		m[""] = err.Error()
		return m
	}
	for _, p := range ps {
		key := ""
		for _, f := range fields {
			if p.Path == f {
				key = f
			}
		}
		msg := p.Message
		if key == "" && p.Path != "" {
			msg = p.Path + ": " + msg
		}
		if m[key] != "" {
			msg = m[key] + "; " + msg
		}
		m[key] = msg
	}
	return m
}

func (s *Server) adminUserCreate(c echo.Context) error {
	username := strings.TrimSpace(c.FormValue("username"))
	role := store.Role(c.FormValue("role"))
	_, err := s.p.Ops.CreateUser(c.Request().Context(), actor(c), username, c.FormValue("password"), role)
	if errors.Is(err, fault.ErrInvalid) || errors.Is(err, fault.ErrConflict) {
		form := pages.AdminUsersView{Username: username, Role: string(role)}
		if errors.Is(err, fault.ErrConflict) {
			form.Errors = map[string]string{"username": fmt.Sprintf("%q is taken; choose another name", username)}
		} else {
			form.Errors = problemMap(err, "username", "password", "role")
		}
		v, verr := s.adminUsersView(c, form)
		if verr != nil {
			return verr
		}
		return s.render(c, http.StatusUnprocessableEntity, pages.AdminUsers(v))
	}
	if err != nil {
		return err
	}
	ctx := views.WithPage(c.Request().Context(), s.pageContext(c))
	flash(c, "success", views.T(ctx, "admin.users.created", username, views.T(ctx, "role."+string(role))))
	return redirect(c, "/admin/users")
}

// adminUserUpdate applies a role or disabled change; refusals (your own
// account, unknown role) come back as an error flash on the users page.
func (s *Server) adminUserUpdate(c echo.Context, role *store.Role, disabled *bool, done string) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	u, err := s.p.Ops.UserByID(ctx, id)
	if err != nil {
		return err
	}
	err = s.p.Ops.UpdateUser(ctx, actor(c), id, role, disabled)
	if errors.Is(err, fault.ErrInvalid) || errors.Is(err, fault.ErrConflict) {
		flash(c, "error", fmt.Sprintf("%s: %v", u.Username, err))
		return redirect(c, "/admin/users")
	}
	if err != nil {
		return err
	}
	vctx := views.WithPage(ctx, s.pageContext(c))
	flash(c, "success", views.T(vctx, done, u.Username))
	return redirect(c, "/admin/users")
}

func (s *Server) adminUserRole(c echo.Context) error {
	role := store.Role(c.FormValue("role"))
	return s.adminUserUpdate(c, &role, nil, "admin.users.rolechanged")
}

func (s *Server) adminUserDisable(c echo.Context) error {
	t := true
	return s.adminUserUpdate(c, nil, &t, "admin.users.disabled.done")
}

func (s *Server) adminUserEnable(c echo.Context) error {
	f := false
	return s.adminUserUpdate(c, nil, &f, "admin.users.enabled.done")
}

func (s *Server) adminUserPassword(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if id == actor(c).UserID {
		flash(c, "error", "Change your own password on the account page (it asks for the current one).")
		return redirect(c, "/admin/users")
	}
	u, err := s.p.Ops.UserByID(ctx, id)
	if err != nil {
		return err
	}
	err = s.p.Ops.ResetPassword(ctx, actor(c), id, c.FormValue("password"))
	if errors.Is(err, fault.ErrInvalid) {
		flash(c, "error", fmt.Sprintf("%s: %v", u.Username, err))
		return redirect(c, "/admin/users")
	}
	if err != nil {
		return err
	}
	vctx := views.WithPage(ctx, s.pageContext(c))
	flash(c, "success", views.T(vctx, "admin.users.passwordset", u.Username))
	return redirect(c, "/admin/users")
}

func (s *Server) adminTokens(c echo.Context) error {
	toks, err := s.p.Ops.AllTokens(c.Request().Context(), actor(c))
	if err != nil {
		return err
	}
	var v pages.AdminTokensView
	for _, t := range toks {
		row := pages.AdminTokenRow{ID: t.ID, Owner: t.Owner, Name: t.Name, Created: s.stamp(c, t.CreatedAt, calendar.StampDateTime)}
		if t.LastUsed != nil {
			row.LastUsed = s.stamp(c, *t.LastUsed, calendar.StampDateTime)
		}
		v.Tokens = append(v.Tokens, row)
	}
	return s.render(c, http.StatusOK, pages.AdminTokens(v))
}

func (s *Server) adminTokenRevoke(c echo.Context) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := s.p.Ops.RevokeToken(c.Request().Context(), actor(c), id); err != nil {
		return err
	}
	vctx := views.WithPage(c.Request().Context(), s.pageContext(c))
	flash(c, "success", views.T(vctx, "admin.tokens.revoked"))
	return redirect(c, "/admin/tokens")
}

func auditURL(actorName, target string, before int64) string {
	q := url.Values{}
	if actorName != "" {
		q.Set("actor", actorName)
	}
	if target != "" {
		q.Set("target", target)
	}
	if before > 0 {
		q.Set("before", strconv.FormatInt(before, 10))
	}
	if len(q) == 0 {
		return "/admin/audit"
	}
	return "/admin/audit?" + q.Encode()
}

func (s *Server) adminAudit(c echo.Context) error {
	v := pages.AdminAuditView{Actor: strings.TrimSpace(c.QueryParam("actor")), Target: strings.TrimSpace(c.QueryParam("target"))}
	q := store.AuditQuery{Actor: v.Actor, Target: v.Target, Limit: ops.AuditPageSize}
	status := http.StatusOK
	if b := c.QueryParam("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			v.Error = fmt.Sprintf("before: %q is not an entry id; showing the newest entries", b)
			status = http.StatusBadRequest
		} else {
			q.Before = n
			v.Paged = true
		}
	}
	page, err := s.p.Ops.AuditLog(c.Request().Context(), actor(c), q)
	if errors.Is(err, fault.ErrInvalid) {
		v.Error, status = err.Error(), http.StatusBadRequest
	} else if err != nil {
		return err
	}
	v.Entries = s.auditRows(c, page.Entries)
	if page.Older != 0 {
		v.OlderURL = auditURL(v.Actor, v.Target, page.Older)
	}
	if v.Paged {
		v.NewestURL = auditURL(v.Actor, v.Target, 0)
	}
	return s.render(c, status, pages.AdminAudit(v))
}
