package ops

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/alert/email"
	"github.com/koyomi-dev/koyomi/internal/alert/slack"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// Alert permissions: every signed-in user reads channels, rules and the
// delivery log; admins edit and test channels (they hold credentials,
// like the other connections); designers and admins edit rules.
func canEditAlertChannels(a Actor) bool { return a.Role == store.RoleAdmin }

func canEditAlertRules(a Actor) bool {
	return a.Role == store.RoleAdmin || a.Role == store.RoleDesigner
}

// AlertOpener builds the sender of a channel: the channel's config with its
// secrets put back. It is the alert.Opener of the deliverer.
func AlertOpener(ch alert.Channel, sec alert.Secrets) (alert.Sender, error) {
	switch ch.Kind {
	case alert.ChannelEmail:
		var cfg email.Config
		if err := json.Unmarshal(ch.Config, &cfg); err != nil {
			return nil, fmt.Errorf("email channel %q config: %v: %w", ch.Name, err, fault.ErrInvalid)
		}
		cfg.Password = sec.Password
		return email.New(cfg)
	case alert.ChannelSlack:
		var cfg slack.Config
		if err := json.Unmarshal(ch.Config, &cfg); err != nil {
			return nil, fmt.Errorf("slack channel %q config: %v: %w", ch.Name, err, fault.ErrInvalid)
		}
		cfg.WebhookURL, cfg.BotToken = sec.WebhookURL, sec.BotToken
		return slack.New(cfg)
	}
	return nil, fmt.Errorf("channel %q: kind %q is not email or slack: %w", ch.Name, ch.Kind, fault.ErrInvalid)
}

// ChannelInput creates or updates a channel. Config is the kind's JSON
// config (email.Config or slack.Config); secret fields given in it
// (password, webhook_url, bot_token) or in Secrets are stored apart and
// never returned. An empty secret keeps the stored one.
type ChannelInput struct {
	Name      string            `json:"name"`
	Kind      alert.ChannelKind `json:"kind"`
	Enabled   bool              `json:"enabled"`
	Config    json.RawMessage   `json:"config"`
	Secrets   alert.Secrets     `json:"secrets"`
	Templates alert.Templates   `json:"templates"`
}

func decodeStrict(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// prepareChannel validates in and splits it into the stored channel
// (config without secrets) and the merged secrets.
func prepareChannel(in ChannelInput, old alert.Secrets) (alert.Channel, alert.Secrets, error) {
	var ps fault.Problems
	in.Name = strings.TrimSpace(in.Name)
	alert.ValidName(&ps, "name", in.Name)
	ch := alert.Channel{Name: in.Name, Kind: in.Kind, Enabled: in.Enabled, Templates: alert.Templates{
		Subject: in.Templates.Subject, Text: in.Templates.Text, HTML: in.Templates.HTML, Slack: in.Templates.Slack,
	}}
	var sec alert.Secrets
	switch in.Kind {
	case alert.ChannelEmail:
		var cfg email.Config
		if err := decodeStrict(in.Config, &cfg); err != nil {
			ps.Add("config", "%v", err)
			break
		}
		upd := in.Secrets
		if cfg.Password != "" {
			upd.Password = cfg.Password
		}
		sec = alert.Secrets{Password: old.Merge(upd).Password}
		full := cfg
		full.Password = sec.Password
		if err := full.Validate(); err != nil {
			if fp, ok := fault.AsProblems(err); ok {
				ps = append(ps, fp.Prefix("config")...)
			} else {
				ps.Add("config", "%v", err)
			}
		}
		cfg.Password = ""
		b, _ := json.Marshal(cfg)
		ch.Config = b
	case alert.ChannelSlack:
		var cfg slack.Config
		if err := decodeStrict(in.Config, &cfg); err != nil {
			ps.Add("config", "%v", err)
			break
		}
		upd := in.Secrets
		if cfg.WebhookURL != "" {
			upd.WebhookURL = cfg.WebhookURL
		}
		if cfg.BotToken != "" {
			upd.BotToken = cfg.BotToken
		}
		merged := old.Merge(upd)
		// Switching between webhook and bot token drops the other secret.
		switch {
		case upd.BotToken != "" && upd.WebhookURL == "":
			merged.WebhookURL = ""
		case upd.WebhookURL != "" && upd.BotToken == "":
			merged.BotToken = ""
		}
		sec = alert.Secrets{WebhookURL: merged.WebhookURL, BotToken: merged.BotToken}
		full := cfg
		full.WebhookURL, full.BotToken = sec.WebhookURL, sec.BotToken
		if err := full.Validate(); err != nil {
			if fp, ok := fault.AsProblems(err); ok {
				ps = append(ps, fp.Prefix("config")...)
			} else {
				ps.Add("config", "%v", err)
			}
		}
		cfg.WebhookURL, cfg.BotToken = "", ""
		b, _ := json.Marshal(cfg)
		ch.Config = b
	default:
		ps.Add("kind", "%q is not one of email, slack", in.Kind)
	}
	if _, err := alert.ParseTemplates(ch.Templates); err != nil {
		if fp, ok := fault.AsProblems(err); ok {
			ps = append(ps, fp.Prefix("templates")...)
		} else {
			ps.Add("templates", "%v", err)
		}
	}
	if err := ps.Err(); err != nil {
		return alert.Channel{}, alert.Secrets{}, fmt.Errorf("alert channel %q: %w", in.Name, err)
	}
	return ch, sec, nil
}

// AlertChannels lists the channels (without secrets).
func (s *Service) AlertChannels(ctx context.Context) ([]alert.Channel, error) {
	return s.store.AlertChannels(ctx)
}

// AlertChannel returns one channel (without secrets).
func (s *Service) AlertChannel(ctx context.Context, id int64) (alert.Channel, error) {
	return s.store.AlertChannel(ctx, id)
}

// CreateAlertChannel validates and adds a channel.
func (s *Service) CreateAlertChannel(ctx context.Context, a Actor, in ChannelInput) (alert.Channel, error) {
	if !canEditAlertChannels(a) {
		return alert.Channel{}, fmt.Errorf("create alert channel: %w", fault.ErrForbidden)
	}
	ch, sec, err := prepareChannel(in, alert.Secrets{})
	if err != nil {
		return alert.Channel{}, err
	}
	return s.store.CreateAlertChannel(ctx, ch, sec, a.Username)
}

// UpdateAlertChannel validates and replaces a channel; empty secrets keep
// the stored ones. The kind cannot change.
func (s *Service) UpdateAlertChannel(ctx context.Context, a Actor, id int64, in ChannelInput) (alert.Channel, error) {
	if !canEditAlertChannels(a) {
		return alert.Channel{}, fmt.Errorf("update alert channel: %w", fault.ErrForbidden)
	}
	old, oldSec, err := s.store.AlertChannelForSend(ctx, id)
	if err != nil {
		return alert.Channel{}, err
	}
	if in.Kind == "" {
		in.Kind = old.Kind
	}
	if in.Kind != old.Kind {
		return alert.Channel{}, fmt.Errorf("alert channel %q: %w", old.Name, fault.Problems{{Path: "kind", Message: "cannot change from " + string(old.Kind) + "; create a new channel"}})
	}
	if err := secretsFollowEndpoint(old, in); err != nil {
		return alert.Channel{}, fmt.Errorf("alert channel %q: %w", old.Name, err)
	}
	ch, sec, err := prepareChannel(in, oldSec)
	if err != nil {
		return alert.Channel{}, err
	}
	ch.ID = id
	return s.store.UpdateAlertChannel(ctx, ch, sec, a.Username)
}

// secretsFollowEndpoint refuses to carry a stored secret to a new endpoint:
// a changed SMTP host, port or TLS setting needs the password again, a
// changed Slack API URL the bot token.
func secretsFollowEndpoint(old alert.Channel, in ChannelInput) error {
	switch old.Kind {
	case alert.ChannelEmail:
		var was, now email.Config
		if json.Unmarshal(old.Config, &was) != nil || json.Unmarshal(in.Config, &now) != nil {
			return nil // prepareChannel reports a config that does not decode
		}
		if in.Secrets.Password != "" || now.Password != "" || was.Username == "" {
			return nil
		}
		if was.Host != now.Host || was.Port != now.Port || was.TLS != now.TLS || was.InsecureSkipVerify != now.InsecureSkipVerify {
			return fault.Problems{{Path: "secrets.password", Message: fmt.Sprintf(
				"the server changed (%s:%d → %s:%d, or its TLS setting): give the password again; the stored one is not sent to a new endpoint", was.Host, was.Port, now.Host, now.Port)}}
		}
	case alert.ChannelSlack:
		var was, now slack.Config
		if json.Unmarshal(old.Config, &was) != nil || json.Unmarshal(in.Config, &now) != nil {
			return nil
		}
		if in.Secrets.BotToken == "" && now.BotToken == "" && in.Secrets.WebhookURL == "" && now.WebhookURL == "" && was.APIURL != now.APIURL {
			return fault.Problems{{Path: "secrets.bot_token", Message: fmt.Sprintf(
				"the API URL changed (%q → %q): give the bot token again; the stored one is not sent to a new endpoint", was.APIURL, now.APIURL)}}
		}
	}
	return nil
}

// DeleteAlertChannel removes a channel no rule uses.
func (s *Service) DeleteAlertChannel(ctx context.Context, a Actor, id int64) error {
	if !canEditAlertChannels(a) {
		return fmt.Errorf("delete alert channel: %w", fault.ErrForbidden)
	}
	return s.store.DeleteAlertChannel(ctx, id, a.Username)
}

// TestSendTimeout bounds a "send test" from the GUI or API.
const TestSendTimeout = 30 * time.Second

// TestAlertChannel sends a test event through the channel now, with the
// channel's templates, and records it in the delivery log. A failed send
// is the returned delivery's state and error, not a Go error.
func (s *Service) TestAlertChannel(ctx context.Context, a Actor, id int64, baseURL string) (alert.Delivery, error) {
	if !canEditAlertChannels(a) {
		return alert.Delivery{}, fmt.Errorf("test alert channel: %w", fault.ErrForbidden)
	}
	ch, sec, err := s.store.AlertChannelForSend(ctx, id)
	if err != nil {
		return alert.Delivery{}, err
	}
	ev := alert.Event{
		Kind: alert.EventTest, Severity: alert.SeverityInfo, At: s.now(),
		Detail: fmt.Sprintf("sent by %s to check the channel %q", a.Username, ch.Name),
		URL:    strings.TrimRight(baseURL, "/") + "/alerts",
	}
	msg, err := alert.Render(ch.Templates, []alert.Event{ev})
	if err != nil {
		return alert.Delivery{}, fmt.Errorf("test alert channel %q: %w", ch.Name, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	msg.Key = "test." + hex.EncodeToString(b[:])
	sender, sendErr := AlertOpener(ch, sec)
	if sendErr == nil {
		sctx, cancel := context.WithTimeout(ctx, TestSendTimeout)
		sendErr = sender.Send(sctx, msg)
		cancel()
	}
	return s.store.LogAlertTest(ctx, ch, msg, sendErr, a.Username)
}

// AlertRules lists the rules.
func (s *Service) AlertRules(ctx context.Context) ([]alert.Rule, error) {
	return s.store.AlertRules(ctx)
}

// AlertRule returns one rule.
func (s *Service) AlertRule(ctx context.Context, id int64) (alert.Rule, error) {
	return s.store.AlertRule(ctx, id)
}

func normaliseRule(r alert.Rule) alert.Rule {
	r.Name = strings.TrimSpace(r.Name)
	r.Scope = strings.Trim(strings.TrimSpace(r.Scope), "/")
	if r.Quiet.Enabled() && r.Quiet.Policy == "" {
		r.Quiet.Policy = alert.QuietHold
	}
	if !r.Quiet.Enabled() {
		r.Quiet = alert.QuietHours{}
	}
	r.Throttle = r.Throttle.Truncate(time.Second)
	return r
}

// CreateAlertRule validates and adds a rule.
func (s *Service) CreateAlertRule(ctx context.Context, a Actor, r alert.Rule) (alert.Rule, error) {
	if !canEditAlertRules(a) {
		return alert.Rule{}, fmt.Errorf("create alert rule: %w", fault.ErrForbidden)
	}
	r = normaliseRule(r)
	if err := r.Validate(); err != nil {
		return alert.Rule{}, err
	}
	return s.store.CreateAlertRule(ctx, r, a.Username)
}

// UpdateAlertRule validates and replaces a rule.
func (s *Service) UpdateAlertRule(ctx context.Context, a Actor, id int64, r alert.Rule) (alert.Rule, error) {
	if !canEditAlertRules(a) {
		return alert.Rule{}, fmt.Errorf("update alert rule: %w", fault.ErrForbidden)
	}
	r = normaliseRule(r)
	r.ID = id
	if err := r.Validate(); err != nil {
		return alert.Rule{}, err
	}
	return s.store.UpdateAlertRule(ctx, r, a.Username)
}

// DeleteAlertRule removes a rule.
func (s *Service) DeleteAlertRule(ctx context.Context, a Actor, id int64) error {
	if !canEditAlertRules(a) {
		return fmt.Errorf("delete alert rule: %w", fault.ErrForbidden)
	}
	return s.store.DeleteAlertRule(ctx, id, a.Username)
}

// AlertDeliveries returns the delivery log, newest first.
func (s *Service) AlertDeliveries(ctx context.Context, q store.DeliveryQuery) ([]alert.Delivery, error) {
	return s.store.AlertDeliveries(ctx, q)
}
