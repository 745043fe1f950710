package alert

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// Kinds lists every event kind a rule can select, in display order.
var Kinds = []EventKind{
	EventJobAbnormal, EventJobWarning, EventJobFailedToStart, EventJobRetry,
	EventStartDelay, EventEndDelay, EventGenerationAbnormal, EventGenerationWarning,
	EventGenerationNormal, EventDispatchError, EventLeaderChange, EventDeadlineAtRisk, EventDeadlineMissed,
}

// Valid reports whether k is a known kind.
func (k EventKind) Valid() bool {
	if k == EventTest {
		return true
	}
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// ChannelKind is how a channel delivers.
type ChannelKind string

const (
	// ChannelEmail sends by SMTP (package alert/email).
	ChannelEmail ChannelKind = "email"
	// ChannelSlack posts by incoming webhook or bot token (package alert/slack).
	ChannelSlack ChannelKind = "slack"
)

// Valid reports whether k is a known channel kind.
func (k ChannelKind) Valid() bool { return k == ChannelEmail || k == ChannelSlack }

// Channel is a configured destination. Config is the kind's configuration
// (email.Config or slack.Config as JSON) without its secrets, which live in
// Secrets and are never read back by the API or the GUI.
type Channel struct {
	ID        int64           `json:"id"`
	Name      string          `json:"name"`
	Kind      ChannelKind     `json:"kind"`
	Enabled   bool            `json:"enabled"`
	Config    json.RawMessage `json:"config"`
	Templates Templates       `json:"templates"`
	// SecretsSet names the secrets that are stored (password, webhook_url,
	// bot_token), so a form can say "set; leave empty to keep".
	SecretsSet []string      `json:"secrets_set,omitempty"`
	Health     ChannelHealth `json:"health"`
	CreatedAt  time.Time     `json:"created_at"`
	UpdatedAt  time.Time     `json:"updated_at"`
}

// ChannelHealth is what the deliverer learnt about a channel.
type ChannelHealth struct {
	// Failing is set after FailingAfter consecutive failed attempts and
	// cleared by the next successful send.
	Failing             bool       `json:"failing"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	LastError           string     `json:"last_error,omitempty"`
	LastFailureAt       *time.Time `json:"last_failure_at,omitempty"`
	LastSuccessAt       *time.Time `json:"last_success_at,omitempty"`
}

// Secrets are a channel's write-only credentials.
type Secrets struct {
	// Password is the SMTP password.
	Password string `json:"password,omitempty"`
	// WebhookURL is a Slack incoming-webhook URL.
	WebhookURL string `json:"webhook_url,omitempty"`
	// BotToken is a Slack bot token.
	BotToken string `json:"bot_token,omitempty"`
}

// Names returns the names of the secrets that are set.
func (s Secrets) Names() []string {
	var out []string
	if s.Password != "" {
		out = append(out, "password")
	}
	if s.WebhookURL != "" {
		out = append(out, "webhook_url")
	}
	if s.BotToken != "" {
		out = append(out, "bot_token")
	}
	return out
}

// Merge returns s with every non-empty field of update replacing its own:
// an empty field means "keep".
func (s Secrets) Merge(update Secrets) Secrets {
	if update.Password != "" {
		s.Password = update.Password
	}
	if update.WebhookURL != "" {
		s.WebhookURL = update.WebhookURL
	}
	if update.BotToken != "" {
		s.BotToken = update.BotToken
	}
	return s
}

// QuietPolicy is what happens to an event that arrives during quiet hours.
type QuietPolicy string

const (
	// QuietHold keeps the event and sends it (grouped with the others of
	// its kind) when the quiet hours end.
	QuietHold QuietPolicy = "hold"
	// QuietDrop records the event in the delivery log as dropped and sends
	// nothing.
	QuietDrop QuietPolicy = "drop"
)

// QuietHours is a daily local-time window in which a rule sends nothing.
// From == To (both empty) means no quiet hours; a window may cross
// midnight (22:00–06:00).
type QuietHours struct {
	From   string      `json:"from,omitempty"` // HH:MM
	To     string      `json:"to,omitempty"`   // HH:MM
	Zone   string      `json:"zone,omitempty"` // IANA zone, default UTC
	Policy QuietPolicy `json:"policy,omitempty"`
}

// Enabled reports whether the window is non-empty.
func (q QuietHours) Enabled() bool { return q.From != "" && q.From != q.To }

var hhmmRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):([0-5][0-9])$`)

func parseHHMM(s string) (int, bool) {
	m := hhmmRE.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	return int(m[1][0]-'0')*600 + int(m[1][1]-'0')*60 + int(m[2][0]-'0')*10 + int(m[2][1]-'0'), true
}

func (q QuietHours) validate(ps *fault.Problems) {
	if q.From == "" && q.To == "" {
		return
	}
	if _, ok := parseHHMM(q.From); !ok {
		ps.Add("quiet.from", "%q is not a time HH:MM (00:00-23:59)", q.From)
	}
	if _, ok := parseHHMM(q.To); !ok {
		ps.Add("quiet.to", "%q is not a time HH:MM (00:00-23:59)", q.To)
	}
	if q.Zone != "" {
		if _, err := time.LoadLocation(q.Zone); err != nil {
			ps.Add("quiet.zone", "%q is not an IANA time zone", q.Zone)
		}
	}
	switch q.Policy {
	case "", QuietHold, QuietDrop:
	default:
		ps.Add("quiet.policy", "%q is not one of hold, drop", q.Policy)
	}
}

// Until reports whether t falls in the quiet hours and, if so, the instant
// they end. An end wall time that does not exist on a DST day ends the
// quiet hours at the first instant after the gap.
func (q QuietHours) Until(t time.Time) (bool, time.Time) {
	if !q.Enabled() {
		return false, time.Time{}
	}
	from, ok1 := parseHHMM(q.From)
	to, ok2 := parseHHMM(q.To)
	if !ok1 || !ok2 {
		return false, time.Time{}
	}
	loc := time.UTC
	if q.Zone != "" {
		if l, err := time.LoadLocation(q.Zone); err == nil {
			loc = l
		}
	}
	lt := t.In(loc)
	minute := lt.Hour()*60 + lt.Minute()
	at := func(dayOffset, m int) time.Time {
		return wallTime(lt.Year(), lt.Month(), lt.Day()+dayOffset, m/60, m%60, loc)
	}
	if from < to {
		if minute >= from && minute < to {
			return true, at(0, to)
		}
		return false, time.Time{}
	}
	// Crosses midnight: quiet from `from` to 24:00 and from 00:00 to `to`.
	switch {
	case minute >= from:
		return true, at(1, to)
	case minute < to:
		return true, at(0, to)
	}
	return false, time.Time{}
}

// Throttle defaults and limits.
const (
	// ThrottleDefault is the grouping window of a new rule.
	ThrottleDefault = 60 * time.Second
	// ThrottleMax bounds the grouping window.
	ThrottleMax = 24 * time.Hour
	// GroupMax is the most events one message carries; further events of
	// the same window start the next message.
	GroupMax = 200
)

// Rule routes events to channels: an event matches when its kind is one
// of Kinds and its path lies in Scope.
type Rule struct {
	ID      int64       `json:"id"`
	Name    string      `json:"name"`
	Enabled bool        `json:"enabled"`
	Kinds   []EventKind `json:"kinds"`
	// Scope is "" (everything), "folder", "folder/jobnet" or
	// "folder/jobnet/job"; it matches the event's path by whole segments.
	Scope    string     `json:"scope,omitempty"`
	Channels []int64    `json:"channels"`
	Quiet    QuietHours `json:"quiet"`
	// Throttle groups events of one kind routed by this rule to one
	// channel within this window into one message; 0 sends each event on
	// its own at once.
	Throttle  time.Duration `json:"throttle"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
}

var nameRE = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,99}$`)

// ValidName checks a channel or rule name.
func ValidName(ps *fault.Problems, path, name string) {
	if !nameRE.MatchString(name) {
		ps.Add(path, "%q must be 1-100 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit", name)
	}
}

// Validate returns every problem of the rule with its field path.
func (r Rule) Validate() error {
	var ps fault.Problems
	ValidName(&ps, "name", r.Name)
	if len(r.Kinds) == 0 {
		ps.Add("kinds", "select at least one event kind")
	}
	for i, k := range r.Kinds {
		if !k.Valid() {
			ps.Add(fmt.Sprintf("kinds[%d]", i), "%q is not an event kind", k)
		}
	}
	if r.Scope != "" {
		segs := strings.Split(r.Scope, "/")
		if len(segs) > 3 {
			ps.Add("scope", "%q has more than three parts (folder/jobnet/job)", r.Scope)
		}
		for _, s := range segs {
			if strings.TrimSpace(s) == "" {
				ps.Add("scope", "%q has an empty part", r.Scope)
				break
			}
		}
	}
	if len(r.Channels) == 0 {
		ps.Add("channels", "select at least one channel")
	}
	if r.Throttle < 0 || r.Throttle > ThrottleMax {
		ps.Add("throttle", "%s is out of range 0-%s", r.Throttle, ThrottleMax)
	}
	r.Quiet.validate(&ps)
	if err := ps.Err(); err != nil {
		return fmt.Errorf("alert rule %q: %w", r.Name, err)
	}
	return nil
}

// Matches reports whether the rule selects e.
func (r Rule) Matches(e Event) bool {
	if !r.Enabled {
		return false
	}
	kindOK := false
	for _, k := range r.Kinds {
		if k == e.Kind {
			kindOK = true
			break
		}
	}
	if !kindOK {
		return false
	}
	if r.Scope == "" {
		return true
	}
	path := []string{e.Folder, e.Jobnet, e.Job}
	for i, s := range strings.Split(r.Scope, "/") {
		if i >= len(path) || path[i] != s {
			return false
		}
	}
	return true
}

// Route is where one event goes: one delivery (new or existing) per rule
// and channel.
type Route struct {
	RuleID    int64
	RuleName  string
	ChannelID int64
	// GroupKey identifies the throttle group: rule, channel and kind.
	// Events with the same key join an open delivery until OpenUntil.
	GroupKey string
	// OpenUntil ends the grouping window; the delivery is due then.
	OpenUntil time.Time
	// Dropped is set when quiet hours with the drop policy apply.
	Dropped bool
	// Reason says why the delivery waits or was dropped ("quiet hours
	// until 07:00 Asia/Tokyo").
	Reason string
}

// Plan returns the routes of e under rules at now. A rule sending to a
// channel more than once yields one route. Events of the same rule,
// channel and kind within the rule's throttle window share a delivery;
// during quiet hours the window stays open until they end (hold) or the
// event is dropped.
func Plan(rules []Rule, e Event, now time.Time) []Route {
	var out []Route
	for _, r := range rules {
		if !r.Matches(e) {
			continue
		}
		quiet, until := r.Quiet.Until(now)
		seen := map[int64]bool{}
		for _, ch := range r.Channels {
			if seen[ch] {
				continue
			}
			seen[ch] = true
			rt := Route{
				RuleID: r.ID, RuleName: r.Name, ChannelID: ch,
				GroupKey:  fmt.Sprintf("r%d/c%d/%s", r.ID, ch, e.Kind),
				OpenUntil: now.Add(r.Throttle),
			}
			if quiet {
				if r.Quiet.Policy == QuietDrop {
					rt.Dropped = true
					rt.Reason = "dropped: quiet hours " + r.Quiet.From + "-" + r.Quiet.To
				} else {
					if until.After(rt.OpenUntil) {
						rt.OpenUntil = until
					}
					rt.Reason = "held: quiet hours until " + until.In(until.Location()).Format("2006-01-02 15:04 MST")
				}
			}
			out = append(out, rt)
		}
	}
	return out
}

// wallTime is time.Date for a wall clock time, except that a time inside a
// DST gap yields the first instant after the gap (the transition).
func wallTime(y int, mo time.Month, d, h, m int, loc *time.Location) time.Time {
	t := time.Date(y, mo, d, h, m, 0, 0, loc)
	if t.Hour() == h && t.Minute() == m {
		return t
	}
	lo, hi := t.Add(-3*time.Hour), t.Add(3*time.Hour)
	_, offLo := lo.Zone()
	if _, offHi := hi.Zone(); offLo == offHi {
		return t
	}
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2)
		if _, off := mid.Zone(); off == offLo {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi.Truncate(time.Second)
}
