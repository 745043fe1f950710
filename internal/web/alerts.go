package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/alert/email"
	"github.com/koyomi-dev/koyomi/internal/alert/slack"
	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/views"
	"github.com/koyomi-dev/koyomi/views/pages"
)

func alertPathID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%q is not an id: %w", c.Param("id"), fault.ErrNotFound)
	}
	return id, nil
}

func channelTarget(ch alert.Channel) string {
	switch ch.Kind {
	case alert.ChannelEmail:
		var cfg email.Config
		if json.Unmarshal(ch.Config, &cfg) == nil {
			return strings.Join(cfg.To, ", ") + " via " + cfg.Host
		}
	case alert.ChannelSlack:
		var cfg slack.Config
		if json.Unmarshal(ch.Config, &cfg) == nil && cfg.Channel != "" {
			return cfg.Channel
		}
		return "incoming webhook"
	}
	return ""
}

func (s *Server) deliveryRows(c echo.Context, ds []alert.Delivery) []pages.AlertDeliveryRow {
	fmtTime := func(t *time.Time) string { return s.stampPtr(c, t, calendar.StampFull) }
	rows := make([]pages.AlertDeliveryRow, 0, len(ds))
	for _, d := range ds {
		r := pages.AlertDeliveryRow{ID: d.ID, Created: fmtTime(&d.CreatedAt), Channel: d.ChannelName, Rule: d.RuleName, Kind: string(d.Kind),
			Events: len(d.EventIDs), State: string(d.State), Attempts: d.Attempts, Sent: fmtTime(d.SentAt), LastError: d.LastError}
		if d.Message != nil {
			r.Subject = d.Message.Subject
		}
		if d.State == alert.DeliveryPending || d.State == alert.DeliveryRetrying {
			r.Next = fmtTime(&d.NextAttemptAt)
		}
		rows = append(rows, r)
	}
	return rows
}

func (s *Server) alertsPage(c echo.Context) error {
	ctx := c.Request().Context()
	chs, err := s.p.Ops.AlertChannels(ctx)
	if err != nil {
		return err
	}
	rules, err := s.p.Ops.AlertRules(ctx)
	if err != nil {
		return err
	}
	ds, err := s.p.Ops.AlertDeliveries(ctx, store.DeliveryQuery{Limit: 20})
	if err != nil {
		return err
	}
	pc := s.langCtx(c)
	fmtTime := func(t *time.Time) string { return s.stampPtr(c, t, calendar.StampFull) }
	names := map[int64]string{}
	var v pages.AlertsView
	for _, ch := range chs {
		names[ch.ID] = ch.Name
		v.Channels = append(v.Channels, pages.AlertChannelRow{ID: ch.ID, Name: ch.Name, Kind: string(ch.Kind), Enabled: ch.Enabled,
			Target: channelTarget(ch), Failing: ch.Health.Failing, Failures: ch.Health.ConsecutiveFailures, LastError: ch.Health.LastError,
			LastSuccess: fmtTime(ch.Health.LastSuccessAt), LastFailure: fmtTime(ch.Health.LastFailureAt), SecretsKnown: strings.Join(ch.SecretsSet, ", ")})
	}
	for _, r := range rules {
		row := pages.AlertRuleRow{ID: r.ID, Name: r.Name, Enabled: r.Enabled, Scope: r.Scope, Throttle: r.Throttle.String()}
		if row.Scope == "" {
			row.Scope = "*"
		}
		var ks, cs []string
		for _, k := range r.Kinds {
			ks = append(ks, views.T(pc, "alerts.event."+string(k)))
		}
		for _, id := range r.Channels {
			cs = append(cs, names[id])
		}
		row.Kinds, row.Channels = strings.Join(ks, ", "), strings.Join(cs, ", ")
		if r.Quiet.Enabled() {
			row.Quiet = fmt.Sprintf("%s–%s %s (%s)", r.Quiet.From, r.Quiet.To, r.Quiet.Zone, r.Quiet.Policy)
		}
		v.Rules = append(v.Rules, row)
	}
	v.Deliveries = s.deliveryRows(c, ds)
	return s.render(c, http.StatusOK, pages.Alerts(v))
}

// deliveryQuery reads the log filters (state, channel, kind, before).
func deliveryQuery(c echo.Context) (store.DeliveryQuery, error) {
	var q store.DeliveryQuery
	var ps fault.Problems
	if st := c.QueryParam("state"); st != "" {
		if !alert.DeliveryState(st).Valid() {
			ps.Add("state", "%q is not a delivery state", st)
		}
		q.State = alert.DeliveryState(st)
	}
	if k := c.QueryParam("kind"); k != "" {
		if !alert.EventKind(k).Valid() {
			ps.Add("kind", "%q is not an event kind", k)
		}
		q.Kind = alert.EventKind(k)
	}
	for name, dst := range map[string]*int64{"channel": &q.ChannelID, "before": &q.Before} {
		if v := c.QueryParam(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				ps.Add(name, "%q is not an id", v)
			}
			*dst = n
		}
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			ps.Add("limit", "%q is not a number 1-1000", v)
		}
		q.Limit = n
	}
	if err := ps.Err(); err != nil {
		return q, fmt.Errorf("delivery log filter: %w", err)
	}
	return q, nil
}

func (s *Server) alertDeliveriesPage(c echo.Context) error {
	ctx := c.Request().Context()
	q, err := deliveryQuery(c)
	if err != nil {
		return err
	}
	if q.Limit == 0 {
		q.Limit = 100
	}
	ds, err := s.p.Ops.AlertDeliveries(ctx, q)
	if err != nil {
		return err
	}
	chs, err := s.p.Ops.AlertChannels(ctx)
	if err != nil {
		return err
	}
	v := pages.AlertDeliveriesView{State: string(q.State), Kind: string(q.Kind), Rows: s.deliveryRows(c, ds)}
	pc := views.WithPage(ctx, s.pageContext(c))
	for _, st := range alert.DeliveryStates {
		v.States = append(v.States, pages.AlertOption{Value: string(st), Label: views.T(pc, "alerts.state."+string(st)), Checked: st == q.State})
	}
	for _, ch := range chs {
		v.Channels = append(v.Channels, pages.AlertOption{Value: strconv.FormatInt(ch.ID, 10), Label: ch.Name, Checked: ch.ID == q.ChannelID})
	}
	for _, k := range append(append([]alert.EventKind{}, alert.Kinds...), alert.EventTest) {
		v.Kinds = append(v.Kinds, pages.AlertOption{Value: string(k), Label: views.T(pc, "alerts.event."+string(k)), Checked: k == q.Kind})
	}
	if len(ds) == q.Limit {
		nq := c.QueryParams()
		nq.Set("before", strconv.FormatInt(ds[len(ds)-1].ID, 10))
		v.Next = "/alerts/deliveries?" + nq.Encode()
	}
	return s.render(c, http.StatusOK, pages.AlertDeliveries(v))
}

// ---- channels ----

func channelForm(ch alert.Channel) pages.AlertChannelForm {
	f := pages.AlertChannelForm{ID: ch.ID, Name: ch.Name, Kind: string(ch.Kind), Enabled: ch.Enabled,
		TplSubject: ch.Templates.Subject, TplText: ch.Templates.Text, TplHTML: ch.Templates.HTML, TplSlack: ch.Templates.Slack}
	for _, n := range ch.SecretsSet {
		switch n {
		case "password":
			f.PasswordSet = true
		case "webhook_url":
			f.WebhookSet = true
		case "bot_token":
			f.TokenSet = true
		}
	}
	switch ch.Kind {
	case alert.ChannelEmail:
		var cfg email.Config
		_ = json.Unmarshal(ch.Config, &cfg)
		f.Host, f.TLS, f.Username, f.From, f.RootCAs, f.Insecure = cfg.Host, string(cfg.TLS), cfg.Username, cfg.From, cfg.RootCAs, cfg.InsecureSkipVerify
		if cfg.Port != 0 {
			f.Port = strconv.Itoa(cfg.Port)
		}
		f.To, f.Cc = strings.Join(cfg.To, ", "), strings.Join(cfg.Cc, ", ")
	case alert.ChannelSlack:
		var cfg slack.Config
		_ = json.Unmarshal(ch.Config, &cfg)
		f.SlackChannel, f.APIURL = cfg.Channel, cfg.APIURL
	}
	return f
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '\n' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// channelInput reads the channel form; the form (without secrets) is
// returned for re-rendering.
func channelInput(c echo.Context, id int64, set pages.AlertChannelForm) (ops.ChannelInput, pages.AlertChannelForm, error) {
	f := pages.AlertChannelForm{ID: id, Name: c.FormValue("name"), Kind: c.FormValue("kind"), Enabled: c.FormValue("enabled") != "",
		Host: strings.TrimSpace(c.FormValue("host")), Port: strings.TrimSpace(c.FormValue("port")), TLS: c.FormValue("tls"),
		Username: strings.TrimSpace(c.FormValue("username")), From: strings.TrimSpace(c.FormValue("from")), To: c.FormValue("to"), Cc: c.FormValue("cc"),
		RootCAs: c.FormValue("root_cas"), Insecure: c.FormValue("insecure") != "", SlackChannel: strings.TrimSpace(c.FormValue("slack_channel")),
		APIURL: strings.TrimSpace(c.FormValue("api_url")), TplSubject: c.FormValue("tpl_subject"), TplText: c.FormValue("tpl_text"),
		TplHTML: c.FormValue("tpl_html"), TplSlack: c.FormValue("tpl_slack"),
		PasswordSet: set.PasswordSet, WebhookSet: set.WebhookSet, TokenSet: set.TokenSet}
	in := ops.ChannelInput{Name: f.Name, Kind: alert.ChannelKind(f.Kind), Enabled: f.Enabled,
		Secrets:   alert.Secrets{Password: c.FormValue("password"), WebhookURL: strings.TrimSpace(c.FormValue("webhook_url")), BotToken: strings.TrimSpace(c.FormValue("bot_token"))},
		Templates: alert.Templates{Subject: f.TplSubject, Text: f.TplText, HTML: f.TplHTML, Slack: f.TplSlack}}
	var cfg any
	switch in.Kind {
	case alert.ChannelEmail:
		ec := email.Config{Host: f.Host, TLS: email.TLSMode(f.TLS), Username: f.Username, From: f.From, To: splitList(f.To), Cc: splitList(f.Cc),
			RootCAs: strings.TrimSpace(f.RootCAs), InsecureSkipVerify: f.Insecure}
		if f.Port != "" {
			p, err := strconv.Atoi(f.Port)
			if err != nil {
				return in, f, fmt.Errorf("alert channel: %w", fault.Problems{{Path: "config.port", Message: fmt.Sprintf("%q is not a number", f.Port)}})
			}
			ec.Port = p
		}
		cfg = ec
	case alert.ChannelSlack:
		cfg = slack.Config{Channel: f.SlackChannel, APIURL: f.APIURL}
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return in, f, err
	}
	in.Config = b
	return in, f, nil
}

func alertProblemLines(err error) []string {
	if ps, ok := fault.AsProblems(err); ok {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = p.String()
		}
		return out
	}
	return []string{err.Error()}
}

func (s *Server) alertChannelNew(c echo.Context) error {
	return s.render(c, http.StatusOK, pages.AlertChannelEdit(pages.AlertChannelForm{Kind: "email", Enabled: true}))
}

func (s *Server) alertChannelEdit(c echo.Context) error {
	id, err := alertPathID(c)
	if err != nil {
		return err
	}
	ch, err := s.p.Ops.AlertChannel(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, pages.AlertChannelEdit(channelForm(ch)))
}

func (s *Server) alertChannelSave(c echo.Context) error {
	ctx := c.Request().Context()
	var id int64
	var set pages.AlertChannelForm
	if c.Param("id") != "" {
		var err error
		if id, err = alertPathID(c); err != nil {
			return err
		}
		old, err := s.p.Ops.AlertChannel(ctx, id)
		if err != nil {
			return err
		}
		set = channelForm(old)
	}
	in, f, err := channelInput(c, id, set)
	if err == nil {
		if id == 0 {
			_, err = s.p.Ops.CreateAlertChannel(ctx, actor(c), in)
		} else {
			_, err = s.p.Ops.UpdateAlertChannel(ctx, actor(c), id, in)
		}
	}
	if errors.Is(err, fault.ErrInvalid) || errors.Is(err, fault.ErrConflict) {
		f.Problems = alertProblemLines(err)
		return s.render(c, http.StatusUnprocessableEntity, pages.AlertChannelEdit(f))
	}
	if err != nil {
		return err
	}
	flash(c, "success", views.T(views.WithPage(ctx, s.pageContext(c)), "alerts.saved"))
	return redirect(c, "/alerts")
}

func (s *Server) alertChannelTest(c echo.Context) error {
	id, err := alertPathID(c)
	if err != nil {
		return err
	}
	d, err := s.p.Ops.TestAlertChannel(c.Request().Context(), actor(c), id, s.p.BaseURL)
	if err != nil {
		return err
	}
	pc := views.WithPage(c.Request().Context(), s.pageContext(c))
	if d.State == alert.DeliverySent {
		flash(c, "success", views.T(pc, "alerts.test.sent", d.ChannelName))
	} else {
		flash(c, "error", views.T(pc, "alerts.test.failed", d.ChannelName, d.LastError))
	}
	return redirect(c, "/alerts")
}

func (s *Server) alertChannelDelete(c echo.Context) error {
	id, err := alertPathID(c)
	if err != nil {
		return err
	}
	if err := s.p.Ops.DeleteAlertChannel(c.Request().Context(), actor(c), id); err != nil {
		return err
	}
	flash(c, "success", views.T(views.WithPage(c.Request().Context(), s.pageContext(c)), "alerts.deleted"))
	return redirect(c, "/alerts")
}

// ---- rules ----

func (s *Server) ruleForm(c echo.Context, r alert.Rule) (pages.AlertRuleForm, error) {
	pc := s.langCtx(c)
	chs, err := s.p.Ops.AlertChannels(c.Request().Context())
	if err != nil {
		return pages.AlertRuleForm{}, err
	}
	f := pages.AlertRuleForm{ID: r.ID, Name: r.Name, Enabled: r.Enabled, Scope: r.Scope, QuietFrom: r.Quiet.From, QuietTo: r.Quiet.To,
		QuietZone: r.Quiet.Zone, QuietPolicy: string(r.Quiet.Policy), Throttle: strconv.Itoa(int(r.Throttle / time.Second))}
	for _, k := range alert.Kinds {
		on := false
		for _, x := range r.Kinds {
			on = on || x == k
		}
		f.Kinds = append(f.Kinds, pages.AlertOption{Value: string(k), Label: views.T(pc, "alerts.event."+string(k)), Checked: on})
	}
	for _, ch := range chs {
		on := false
		for _, x := range r.Channels {
			on = on || x == ch.ID
		}
		f.Channels = append(f.Channels, pages.AlertOption{Value: strconv.FormatInt(ch.ID, 10), Label: ch.Name + " (" + string(ch.Kind) + ")", Checked: on})
	}
	return f, nil
}

func (s *Server) alertRuleNew(c echo.Context) error {
	f, err := s.ruleForm(c, alert.Rule{Enabled: true, Throttle: alert.ThrottleDefault, Kinds: []alert.EventKind{alert.EventJobAbnormal, alert.EventGenerationAbnormal}})
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, pages.AlertRuleEdit(f))
}

func (s *Server) alertRuleEdit(c echo.Context) error {
	id, err := alertPathID(c)
	if err != nil {
		return err
	}
	r, err := s.p.Ops.AlertRule(c.Request().Context(), id)
	if err != nil {
		return err
	}
	f, err := s.ruleForm(c, r)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, pages.AlertRuleEdit(f))
}

// ruleFromForm reads the rule form; bad numbers become problems.
func ruleFromForm(form url.Values) (alert.Rule, fault.Problems) {
	var ps fault.Problems
	r := alert.Rule{Name: form.Get("name"), Enabled: form.Get("enabled") != "", Scope: form.Get("scope"),
		Quiet: alert.QuietHours{From: form.Get("quiet_from"), To: form.Get("quiet_to"), Zone: strings.TrimSpace(form.Get("quiet_zone")), Policy: alert.QuietPolicy(form.Get("quiet_policy"))}}
	for _, k := range form["kinds"] {
		r.Kinds = append(r.Kinds, alert.EventKind(k))
	}
	for i, v := range form["channels"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			ps.Add(fmt.Sprintf("channels[%d]", i), "%q is not a channel id", v)
			continue
		}
		r.Channels = append(r.Channels, id)
	}
	if t := strings.TrimSpace(form.Get("throttle")); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			ps.Add("throttle", "%q is not a number of seconds", t)
		}
		r.Throttle = time.Duration(n) * time.Second
	}
	return r, ps
}

func (s *Server) alertRuleSave(c echo.Context) error {
	ctx := c.Request().Context()
	var id int64
	if c.Param("id") != "" {
		var err error
		if id, err = alertPathID(c); err != nil {
			return err
		}
	}
	form, err := c.FormParams()
	if err != nil {
		return fmt.Errorf("read form: %v: %w", err, fault.ErrInvalid)
	}
	r, ps := ruleFromForm(form)
	r.ID = id
	err = ps.Err()
	if err == nil {
		if id == 0 {
			_, err = s.p.Ops.CreateAlertRule(ctx, actor(c), r)
		} else {
			_, err = s.p.Ops.UpdateAlertRule(ctx, actor(c), id, r)
		}
	}
	if errors.Is(err, fault.ErrInvalid) || errors.Is(err, fault.ErrConflict) {
		f, ferr := s.ruleForm(c, r)
		if ferr != nil {
			return ferr
		}
		f.Throttle = form.Get("throttle")
		f.Problems = alertProblemLines(err)
		return s.render(c, http.StatusUnprocessableEntity, pages.AlertRuleEdit(f))
	}
	if err != nil {
		return err
	}
	flash(c, "success", views.T(views.WithPage(ctx, s.pageContext(c)), "alerts.saved"))
	return redirect(c, "/alerts")
}

func (s *Server) alertRuleDelete(c echo.Context) error {
	id, err := alertPathID(c)
	if err != nil {
		return err
	}
	if err := s.p.Ops.DeleteAlertRule(c.Request().Context(), actor(c), id); err != nil {
		return err
	}
	flash(c, "success", views.T(views.WithPage(c.Request().Context(), s.pageContext(c)), "alerts.deleted"))
	return redirect(c, "/alerts")
}

// ---- API ----

func (s *Server) apiAlertDeliveries(c echo.Context) error {
	q, err := deliveryQuery(c)
	if err != nil {
		return err
	}
	ds, err := s.p.Ops.AlertDeliveries(c.Request().Context(), q)
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []alert.Delivery{}
	}
	return c.JSON(http.StatusOK, ds)
}

func (s *Server) apiAlertChannels(c echo.Context) error {
	chs, err := s.p.Ops.AlertChannels(c.Request().Context())
	if err != nil {
		return err
	}
	if chs == nil {
		chs = []alert.Channel{}
	}
	return c.JSON(http.StatusOK, chs)
}

func (s *Server) apiAlertChannel(c echo.Context) error {
	id, err := alertPathID(c)
	if err != nil {
		return err
	}
	ch, err := s.p.Ops.AlertChannel(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ch)
}

func decodeJSON(c echo.Context, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("request body: %v: %w", err, fault.ErrInvalid)
	}
	return nil
}

func (s *Server) apiAlertChannelSave(c echo.Context) error {
	var in ops.ChannelInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if c.Param("id") == "" {
		ch, err := s.p.Ops.CreateAlertChannel(ctx, actor(c), in)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, ch)
	}
	id, err := alertPathID(c)
	if err != nil {
		return err
	}
	ch, err := s.p.Ops.UpdateAlertChannel(ctx, actor(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ch)
}

func (s *Server) apiAlertChannelTest(c echo.Context) error {
	id, err := alertPathID(c)
	if err != nil {
		return err
	}
	d, err := s.p.Ops.TestAlertChannel(c.Request().Context(), actor(c), id, s.p.BaseURL)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

// apiRule is a rule as the API reads and writes it (throttle in seconds).
type apiRule struct {
	ID              int64             `json:"id,omitempty"`
	Name            string            `json:"name"`
	Enabled         bool              `json:"enabled"`
	Kinds           []alert.EventKind `json:"kinds"`
	Scope           string            `json:"scope"`
	Channels        []int64           `json:"channels"`
	Quiet           alert.QuietHours  `json:"quiet"`
	ThrottleSeconds int               `json:"throttle_seconds"`
}

func toAPIRule(r alert.Rule) apiRule {
	return apiRule{ID: r.ID, Name: r.Name, Enabled: r.Enabled, Kinds: r.Kinds, Scope: r.Scope, Channels: r.Channels, Quiet: r.Quiet, ThrottleSeconds: int(r.Throttle / time.Second)}
}

func (s *Server) apiAlertRules(c echo.Context) error {
	rs, err := s.p.Ops.AlertRules(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]apiRule, len(rs))
	for i, r := range rs {
		out[i] = toAPIRule(r)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) apiAlertRuleSave(c echo.Context) error {
	var in apiRule
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	r := alert.Rule{Name: in.Name, Enabled: in.Enabled, Kinds: in.Kinds, Scope: in.Scope, Channels: in.Channels, Quiet: in.Quiet, Throttle: time.Duration(in.ThrottleSeconds) * time.Second}
	ctx := c.Request().Context()
	if c.Param("id") == "" {
		out, err := s.p.Ops.CreateAlertRule(ctx, actor(c), r)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, toAPIRule(out))
	}
	id, err := alertPathID(c)
	if err != nil {
		return err
	}
	out, err := s.p.Ops.UpdateAlertRule(ctx, actor(c), id, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAPIRule(out))
}
