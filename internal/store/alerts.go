package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/fault"
)

// The store implements the alert deliverer's persistence.
var _ alert.Store = (*Store)(nil)

type alertChannelRecord struct {
	ID                  int64 `gorm:"primaryKey"`
	Name                string
	Kind                string
	Enabled             bool
	Config              string
	Secrets             string
	Templates           string
	ConsecutiveFailures int
	Failing             bool
	LastError           string
	LastFailureAt       *time.Time
	LastSuccessAt       *time.Time
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

func (alertChannelRecord) TableName() string { return "alert_channels" }

// channelSecretsColumn is where a channel's sealed secrets live.
const channelSecretsColumn = "alert_channels.secrets"

func (s *Store) channel(r alertChannelRecord) (alert.Channel, alert.Secrets, error) {
	ch := alert.Channel{
		ID: r.ID, Name: r.Name, Kind: alert.ChannelKind(r.Kind), Enabled: r.Enabled, Config: json.RawMessage(r.Config),
		Health: alert.ChannelHealth{
			Failing: r.Failing, ConsecutiveFailures: r.ConsecutiveFailures, LastError: r.LastError,
			LastFailureAt: r.LastFailureAt, LastSuccessAt: r.LastSuccessAt,
		},
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if r.Templates != "" {
		if err := json.Unmarshal([]byte(r.Templates), &ch.Templates); err != nil {
			return ch, alert.Secrets{}, fmt.Errorf("decode templates of alert channel %q: %w", r.Name, err)
		}
	}
	var sec alert.Secrets
	plain, err := s.keys.Open(r.Secrets, channelSecretsColumn)
	if err != nil {
		return ch, alert.Secrets{}, fmt.Errorf("alert channel %q: %w", r.Name, err)
	}
	if plain != "" {
		if err := json.Unmarshal([]byte(plain), &sec); err != nil {
			return ch, alert.Secrets{}, fmt.Errorf("decode secrets of alert channel %q: %w", r.Name, err)
		}
	}
	ch.SecretsSet = sec.Names()
	return ch, sec, nil
}

type alertRuleRecord struct {
	ID              int64 `gorm:"primaryKey"`
	Name            string
	Enabled         bool
	Kinds           string
	Scope           string
	Channels        string
	QuietFrom       string
	QuietTo         string
	QuietZone       string
	QuietPolicy     string
	ThrottleSeconds int
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

func (alertRuleRecord) TableName() string { return "alert_rules" }

func (r alertRuleRecord) rule() (alert.Rule, error) {
	out := alert.Rule{
		ID: r.ID, Name: r.Name, Enabled: r.Enabled, Scope: r.Scope,
		Quiet:    alert.QuietHours{From: r.QuietFrom, To: r.QuietTo, Zone: r.QuietZone, Policy: alert.QuietPolicy(r.QuietPolicy)},
		Throttle: time.Duration(r.ThrottleSeconds) * time.Second, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if err := json.Unmarshal([]byte(r.Kinds), &out.Kinds); err != nil {
		return out, fmt.Errorf("decode kinds of alert rule %q: %w", r.Name, err)
	}
	if err := json.Unmarshal([]byte(r.Channels), &out.Channels); err != nil {
		return out, fmt.Errorf("decode channels of alert rule %q: %w", r.Name, err)
	}
	return out, nil
}

func ruleRecord(r alert.Rule) (alertRuleRecord, error) {
	kinds, err := json.Marshal(r.Kinds)
	if err != nil {
		return alertRuleRecord{}, fmt.Errorf("encode kinds: %w", err)
	}
	if r.Channels == nil {
		r.Channels = []int64{}
	}
	chs, err := json.Marshal(r.Channels)
	if err != nil {
		return alertRuleRecord{}, fmt.Errorf("encode channels: %w", err)
	}
	return alertRuleRecord{
		ID: r.ID, Name: r.Name, Enabled: r.Enabled, Kinds: string(kinds), Scope: r.Scope, Channels: string(chs),
		QuietFrom: r.Quiet.From, QuietTo: r.Quiet.To, QuietZone: r.Quiet.Zone, QuietPolicy: string(r.Quiet.Policy),
		ThrottleSeconds: int(r.Throttle / time.Second),
	}, nil
}

type alertDeliveryRecord struct {
	ID            int64 `gorm:"primaryKey"`
	ChannelID     int64
	ChannelName   string
	RuleID        int64
	RuleName      string
	Kind          string
	GroupKey      string
	EventIDs      string `gorm:"column:event_ids"`
	EventCount    int
	Message       string
	State         string
	Attempts      int
	Key           string
	OpenUntil     time.Time
	NextAttemptAt time.Time
	ClaimedUntil  *time.Time
	LastError     string
	SentAt        *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (alertDeliveryRecord) TableName() string { return "alert_deliveries" }

func (r alertDeliveryRecord) delivery() (alert.Delivery, error) {
	d := alert.Delivery{
		ID: r.ID, ChannelID: r.ChannelID, ChannelName: r.ChannelName, RuleID: r.RuleID, RuleName: r.RuleName,
		Kind: alert.EventKind(r.Kind), GroupKey: r.GroupKey, State: alert.DeliveryState(r.State), Attempts: r.Attempts,
		Key: r.Key, NextAttemptAt: r.NextAttemptAt, OpenUntil: r.OpenUntil, ClaimedUntil: r.ClaimedUntil,
		LastError: r.LastError, SentAt: r.SentAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if err := json.Unmarshal([]byte(r.EventIDs), &d.EventIDs); err != nil {
		return d, fmt.Errorf("decode event ids of alert delivery %d: %w", r.ID, err)
	}
	if r.Message != "" {
		var m alert.Message
		if err := json.Unmarshal([]byte(r.Message), &m); err != nil {
			return d, fmt.Errorf("decode message of alert delivery %d: %w", r.ID, err)
		}
		d.Message = &m
	}
	return d, nil
}

func alertConflict(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, fault.ErrConflict)...)
}

// ---- channels ----

// AlertChannels returns every channel by name, without secrets.
func (s *Store) AlertChannels(ctx context.Context) ([]alert.Channel, error) {
	var recs []alertChannelRecord
	if err := s.db.WithContext(ctx).Order("name").Find(&recs).Error; err != nil {
		return nil, translate(err, "read alert channels")
	}
	out := make([]alert.Channel, 0, len(recs))
	for _, r := range recs {
		ch, _, err := s.channel(r)
		if err != nil {
			return nil, err
		}
		out = append(out, ch)
	}
	return out, nil
}

// AlertChannel returns one channel without its secrets.
func (s *Store) AlertChannel(ctx context.Context, id int64) (alert.Channel, error) {
	ch, _, err := s.AlertChannelForSend(ctx, id)
	return ch, err
}

// AlertChannelForSend returns a channel with its secrets (for the
// deliverer and for merging an update; never for display).
func (s *Store) AlertChannelForSend(ctx context.Context, id int64) (alert.Channel, alert.Secrets, error) {
	var r alertChannelRecord
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return alert.Channel{}, alert.Secrets{}, translate(err, fmt.Sprintf("alert channel %d", id))
	}
	return s.channel(r)
}

func (s *Store) channelColumns(ch alert.Channel, sec alert.Secrets) (map[string]any, error) {
	cfg := ch.Config
	if len(cfg) == 0 {
		cfg = json.RawMessage("{}")
	}
	tpl, err := json.Marshal(ch.Templates)
	if err != nil {
		return nil, fmt.Errorf("encode templates: %w", err)
	}
	sj, err := json.Marshal(sec)
	if err != nil {
		return nil, fmt.Errorf("encode secrets: %w", err)
	}
	sealed, err := s.keys.Seal(string(sj), channelSecretsColumn)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"name": ch.Name, "kind": string(ch.Kind), "enabled": ch.Enabled, "config": string(cfg),
		"templates": string(tpl), "secrets": sealed,
	}, nil
}

// CreateAlertChannel adds a channel with its secrets and audits it as by.
func (s *Store) CreateAlertChannel(ctx context.Context, ch alert.Channel, sec alert.Secrets, by string) (alert.Channel, error) {
	cols, err := s.channelColumns(ch, sec)
	if err != nil {
		return alert.Channel{}, err
	}
	now := s.now()
	rec := alertChannelRecord{
		Name: ch.Name, Kind: string(ch.Kind), Enabled: ch.Enabled, Config: cols["config"].(string),
		Templates: cols["templates"].(string), Secrets: cols["secrets"].(string), CreatedAt: now, UpdatedAt: now,
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&rec).Error; err != nil {
			return translate(err, fmt.Sprintf("create alert channel %q", ch.Name))
		}
		return audit(tx, now, AuditEntry{Actor: by, Action: "alert.channel.create", Target: "alert-channel/" + ch.Name, Detail: string(ch.Kind)})
	})
	if err != nil {
		return alert.Channel{}, err
	}
	return s.AlertChannel(ctx, rec.ID)
}

// UpdateAlertChannel replaces a channel's name, settings, templates and
// secrets (the caller merges "leave empty to keep" secrets first).
func (s *Store) UpdateAlertChannel(ctx context.Context, ch alert.Channel, sec alert.Secrets, by string) (alert.Channel, error) {
	cols, err := s.channelColumns(ch, sec)
	if err != nil {
		return alert.Channel{}, err
	}
	now := s.now()
	cols["updated_at"] = now
	err = s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&alertChannelRecord{}).Where("id = ?", ch.ID).Updates(cols)
		if res.Error != nil {
			return translate(res.Error, fmt.Sprintf("update alert channel %q", ch.Name))
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("alert channel %d: %w", ch.ID, fault.ErrNotFound)
		}
		return audit(tx, now, AuditEntry{Actor: by, Action: "alert.channel.update", Target: "alert-channel/" + ch.Name, Detail: "secrets set: " + fmt.Sprint(sec.Names())})
	})
	if err != nil {
		return alert.Channel{}, err
	}
	return s.AlertChannel(ctx, ch.ID)
}

// DeleteAlertChannel removes a channel that no rule sends to.
func (s *Store) DeleteAlertChannel(ctx context.Context, id int64, by string) error {
	now := s.now()
	return s.tx(ctx, func(tx *gorm.DB) error {
		var r alertChannelRecord
		if err := tx.Where("id = ?", id).Take(&r).Error; err != nil {
			return translate(err, fmt.Sprintf("alert channel %d", id))
		}
		var rules []alertRuleRecord
		if err := tx.Find(&rules).Error; err != nil {
			return translate(err, "read alert rules")
		}
		for _, rr := range rules {
			ru, err := rr.rule()
			if err != nil {
				return err
			}
			for _, c := range ru.Channels {
				if c == id {
					return alertConflict("alert channel %q is used by rule %q; remove it from the rule first", r.Name, ru.Name)
				}
			}
		}
		if err := tx.Where("id = ?", id).Delete(&alertChannelRecord{}).Error; err != nil {
			return translate(err, "delete alert channel")
		}
		return audit(tx, now, AuditEntry{Actor: by, Action: "alert.channel.delete", Target: "alert-channel/" + r.Name})
	})
}

// ---- rules ----

// AlertRules returns every rule by name.
func (s *Store) AlertRules(ctx context.Context) ([]alert.Rule, error) {
	var recs []alertRuleRecord
	if err := s.db.WithContext(ctx).Order("name").Find(&recs).Error; err != nil {
		return nil, translate(err, "read alert rules")
	}
	out := make([]alert.Rule, 0, len(recs))
	for _, r := range recs {
		ru, err := r.rule()
		if err != nil {
			return nil, err
		}
		out = append(out, ru)
	}
	return out, nil
}

// AlertRule returns one rule.
func (s *Store) AlertRule(ctx context.Context, id int64) (alert.Rule, error) {
	var r alertRuleRecord
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return alert.Rule{}, translate(err, fmt.Sprintf("alert rule %d", id))
	}
	return r.rule()
}

func checkRuleChannels(tx *gorm.DB, r alert.Rule) error {
	var ps fault.Problems
	for i, id := range r.Channels {
		var n int64
		if err := tx.Model(&alertChannelRecord{}).Where("id = ?", id).Count(&n).Error; err != nil {
			return translate(err, "read alert channels")
		}
		if n == 0 {
			ps.Add(fmt.Sprintf("channels[%d]", i), "channel %d does not exist", id)
		}
	}
	if err := ps.Err(); err != nil {
		return fmt.Errorf("alert rule %q: %w", r.Name, err)
	}
	return nil
}

// CreateAlertRule adds a rule; its channels must exist.
func (s *Store) CreateAlertRule(ctx context.Context, r alert.Rule, by string) (alert.Rule, error) {
	rec, err := ruleRecord(r)
	if err != nil {
		return alert.Rule{}, err
	}
	now := s.now()
	rec.ID, rec.CreatedAt, rec.UpdatedAt = 0, now, now
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := checkRuleChannels(tx, r); err != nil {
			return err
		}
		if err := tx.Create(&rec).Error; err != nil {
			return translate(err, fmt.Sprintf("create alert rule %q", r.Name))
		}
		return audit(tx, now, AuditEntry{Actor: by, Action: "alert.rule.create", Target: "alert-rule/" + r.Name})
	})
	if err != nil {
		return alert.Rule{}, err
	}
	return s.AlertRule(ctx, rec.ID)
}

// UpdateAlertRule replaces a rule.
func (s *Store) UpdateAlertRule(ctx context.Context, r alert.Rule, by string) (alert.Rule, error) {
	rec, err := ruleRecord(r)
	if err != nil {
		return alert.Rule{}, err
	}
	now := s.now()
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := checkRuleChannels(tx, r); err != nil {
			return err
		}
		res := tx.Model(&alertRuleRecord{}).Where("id = ?", r.ID).Updates(map[string]any{
			"name": rec.Name, "enabled": rec.Enabled, "kinds": rec.Kinds, "scope": rec.Scope, "channels": rec.Channels,
			"quiet_from": rec.QuietFrom, "quiet_to": rec.QuietTo, "quiet_zone": rec.QuietZone, "quiet_policy": rec.QuietPolicy,
			"throttle_seconds": rec.ThrottleSeconds, "updated_at": now,
		})
		if res.Error != nil {
			return translate(res.Error, fmt.Sprintf("update alert rule %q", r.Name))
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("alert rule %d: %w", r.ID, fault.ErrNotFound)
		}
		return audit(tx, now, AuditEntry{Actor: by, Action: "alert.rule.update", Target: "alert-rule/" + r.Name})
	})
	if err != nil {
		return alert.Rule{}, err
	}
	return s.AlertRule(ctx, r.ID)
}

// DeleteAlertRule removes a rule; its deliveries stay in the log.
func (s *Store) DeleteAlertRule(ctx context.Context, id int64, by string) error {
	now := s.now()
	return s.tx(ctx, func(tx *gorm.DB) error {
		var r alertRuleRecord
		if err := tx.Where("id = ?", id).Take(&r).Error; err != nil {
			return translate(err, fmt.Sprintf("alert rule %d", id))
		}
		if err := tx.Where("id = ?", id).Delete(&alertRuleRecord{}).Error; err != nil {
			return translate(err, "delete alert rule")
		}
		return audit(tx, now, AuditEntry{Actor: by, Action: "alert.rule.delete", Target: "alert-rule/" + r.Name})
	})
}

// ---- outbox → deliveries ----

// AlertOutbox returns up to limit unrouted outbox events, oldest first.
func (s *Store) AlertOutbox(ctx context.Context, limit int) ([]alert.OutboxEvent, error) {
	evs, err := s.PendingEvents(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]alert.OutboxEvent, len(evs))
	for i, e := range evs {
		out[i] = alert.OutboxEvent{ID: e.ID, Event: e.Event}
	}
	return out, nil
}

func deliveryKey(id int64) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return strconv.FormatInt(id, 10) + "." + hex.EncodeToString(b[:])
}

// RouteAlertEvent marks ev routed (guarded: only from pending) and, in the
// same transaction, adds it to the open delivery of each route's group
// (pending, never attempted, window not yet closed, fewer than
// alert.GroupMax events) or creates a delivery for it.
func (s *Store) RouteAlertEvent(ctx context.Context, ev alert.OutboxEvent, routes []alert.Route, now time.Time) error {
	now = now.UTC()
	return s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&alertEventRecord{}).Where("id = ? AND state = ?", ev.ID, AlertEventPending).
			Updates(map[string]any{"state": string(AlertEventRouted), "routed_at": now})
		if res.Error != nil {
			return translate(res.Error, fmt.Sprintf("route alert event %d", ev.ID))
		}
		if res.RowsAffected != 1 {
			return alertConflict("alert event %d is no longer pending", ev.ID)
		}
		for _, rt := range routes {
			if !rt.Dropped {
				var open []alertDeliveryRecord
				q := tx.Where("group_key = ? AND state = ? AND attempts = 0 AND open_until > ? AND event_count < ?",
					rt.GroupKey, string(alert.DeliveryPending), now, alert.GroupMax).Order("id DESC").Limit(1)
				if err := s.lockForUpdate(q, false).Find(&open).Error; err != nil {
					return translate(err, "find open alert delivery")
				}
				if len(open) == 1 {
					o := open[0]
					var ids []int64
					if err := json.Unmarshal([]byte(o.EventIDs), &ids); err != nil {
						return fmt.Errorf("decode event ids of alert delivery %d: %w", o.ID, err)
					}
					ids = append(ids, ev.ID)
					b, _ := json.Marshal(ids)
					res := tx.Model(&alertDeliveryRecord{}).Where("id = ? AND state = ? AND attempts = 0", o.ID, string(alert.DeliveryPending)).
						Updates(map[string]any{"event_ids": string(b), "event_count": len(ids), "updated_at": now})
					if res.Error != nil {
						return translate(res.Error, "add event to alert delivery")
					}
					if res.RowsAffected != 1 {
						return alertConflict("alert delivery %d was claimed meanwhile", o.ID)
					}
					continue
				}
			}
			var name string
			var chs []alertChannelRecord
			if err := tx.Select("name").Where("id = ?", rt.ChannelID).Limit(1).Find(&chs).Error; err != nil {
				return translate(err, "read alert channel")
			}
			if len(chs) == 1 {
				name = chs[0].Name
			}
			rec := alertDeliveryRecord{
				ChannelID: rt.ChannelID, ChannelName: name, RuleID: rt.RuleID, RuleName: rt.RuleName,
				Kind: string(ev.Event.Kind), GroupKey: rt.GroupKey, EventIDs: fmt.Sprintf("[%d]", ev.ID), EventCount: 1,
				State: string(alert.DeliveryPending), OpenUntil: rt.OpenUntil.UTC(), NextAttemptAt: rt.OpenUntil.UTC(),
				CreatedAt: now, UpdatedAt: now,
			}
			if rt.Dropped {
				rec.State, rec.OpenUntil, rec.NextAttemptAt, rec.LastError = string(alert.DeliveryDropped), now, now, rt.Reason
			}
			if err := tx.Create(&rec).Error; err != nil {
				return translate(err, "create alert delivery")
			}
			if err := tx.Model(&alertDeliveryRecord{}).Where("id = ?", rec.ID).Update("key", deliveryKey(rec.ID)).Error; err != nil {
				return translate(err, "create alert delivery")
			}
		}
		return nil
	})
}

// ClaimAlertDeliveries claims up to limit due deliveries: pending or
// retrying ones whose next attempt is due, and sending ones whose claim
// expired (the deliverer that held them died). Each moves to sending with
// one more attempt, guarded by its previous state and attempt count;
// PostgreSQL skips rows another replica is claiming.
func (s *Store) ClaimAlertDeliveries(ctx context.Context, now, until time.Time, limit int) ([]alert.Delivery, error) {
	now, until = now.UTC(), until.UTC()
	var out []alert.Delivery
	err := s.tx(ctx, func(tx *gorm.DB) error {
		out = out[:0]
		var recs []alertDeliveryRecord
		q := tx.Where("(state IN ? AND next_attempt_at <= ?) OR (state = ? AND claimed_until <= ?)",
			[]string{string(alert.DeliveryPending), string(alert.DeliveryRetrying)}, now, string(alert.DeliverySending), now).
			Order("next_attempt_at, id").Limit(limit)
		if err := s.lockForUpdate(q, true).Find(&recs).Error; err != nil {
			return translate(err, "find due alert deliveries")
		}
		var evIDs []int64
		for _, r := range recs {
			res := tx.Model(&alertDeliveryRecord{}).Where("id = ? AND state = ? AND attempts = ?", r.ID, r.State, r.Attempts).
				Updates(map[string]any{"state": string(alert.DeliverySending), "attempts": r.Attempts + 1, "claimed_until": until, "updated_at": now})
			if res.Error != nil {
				return translate(res.Error, "claim alert delivery")
			}
			if res.RowsAffected != 1 {
				continue
			}
			r.State, r.Attempts, r.ClaimedUntil, r.UpdatedAt = string(alert.DeliverySending), r.Attempts+1, &until, now
			d, err := r.delivery()
			if err != nil {
				return err
			}
			evIDs = append(evIDs, d.EventIDs...)
			out = append(out, d)
		}
		if len(evIDs) == 0 {
			return nil
		}
		var evs []alertEventRecord
		if err := tx.Where("id IN ?", evIDs).Find(&evs).Error; err != nil {
			return translate(err, "read alert events")
		}
		byID := make(map[int64]alert.Event, len(evs))
		for _, r := range evs {
			var e alert.Event
			if err := json.Unmarshal([]byte(r.Body), &e); err != nil {
				return fmt.Errorf("decode alert event %d: %w", r.ID, err)
			}
			byID[r.ID] = e
		}
		for i := range out {
			for _, id := range out[i].EventIDs {
				if e, ok := byID[id]; ok {
					out[i].Events = append(out[i].Events, e)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RenewAlertClaims extends the claims of deliveries still sending the
// given attempt to until; a delivery finished or claimed again by another
// deliverer is left alone.
func (s *Store) RenewAlertClaims(ctx context.Context, claims []alert.Claim, until time.Time) (int, error) {
	until = until.UTC()
	n := 0
	err := s.tx(ctx, func(tx *gorm.DB) error {
		n = 0
		for _, c := range claims {
			res := tx.Model(&alertDeliveryRecord{}).Where("id = ? AND state = ? AND attempts = ?", c.ID, string(alert.DeliverySending), c.Attempt).
				Update("claimed_until", until)
			if res.Error != nil {
				return translate(res.Error, "renew alert delivery claim")
			}
			n += int(res.RowsAffected)
		}
		return nil
	})
	return n, err
}

// SaveAlertMessage stores the rendered message of a claimed delivery.
func (s *Store) SaveAlertMessage(ctx context.Context, id int64, attempt int, msg alert.Message) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode alert message: %w", err)
	}
	res := s.db.WithContext(ctx).Model(&alertDeliveryRecord{}).
		Where("id = ? AND state = ? AND attempts = ?", id, string(alert.DeliverySending), attempt).
		Updates(map[string]any{"message": string(b)})
	if res.Error != nil {
		return translate(res.Error, "save alert message")
	}
	if res.RowsAffected != 1 {
		return alertConflict("alert delivery %d attempt %d is no longer sending", id, attempt)
	}
	return nil
}

// FinishAlertDelivery records the outcome of an attempt (guarded: the
// delivery must still be sending that attempt) and, when o.Health, the
// channel's health in the same transaction.
func (s *Store) FinishAlertDelivery(ctx context.Context, id int64, attempt int, o alert.Outcome, failingAfter int) error {
	at := o.At.UTC()
	cols := map[string]any{"state": string(o.State), "last_error": o.Error, "claimed_until": nil, "updated_at": at}
	switch o.State {
	case alert.DeliverySent:
		cols["sent_at"] = at
	case alert.DeliveryRetrying:
		cols["next_attempt_at"] = o.NextAttemptAt.UTC()
	case alert.DeliveryFailed:
	default:
		return fmt.Errorf("finish alert delivery %d: state %q is not an outcome: %w", id, o.State, fault.ErrInvalid)
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		var d alertDeliveryRecord
		if err := tx.Select("id", "channel_id").Where("id = ?", id).Take(&d).Error; err != nil {
			return translate(err, fmt.Sprintf("alert delivery %d", id))
		}
		res := tx.Model(&alertDeliveryRecord{}).Where("id = ? AND state = ? AND attempts = ?", id, string(alert.DeliverySending), attempt).Updates(cols)
		if res.Error != nil {
			return translate(res.Error, "finish alert delivery")
		}
		if res.RowsAffected != 1 {
			return alertConflict("alert delivery %d attempt %d is no longer sending", id, attempt)
		}
		if !o.Health {
			return nil
		}
		var chs []alertChannelRecord
		if err := s.lockForUpdate(tx.Where("id = ?", d.ChannelID), false).Limit(1).Find(&chs).Error; err != nil {
			return translate(err, "read alert channel")
		}
		if len(chs) == 0 {
			return nil
		}
		ch := chs[0]
		var h map[string]any
		if o.State == alert.DeliverySent {
			h = map[string]any{"consecutive_failures": 0, "failing": false, "last_success_at": at}
		} else {
			n := ch.ConsecutiveFailures + 1
			h = map[string]any{"consecutive_failures": n, "failing": n >= failingAfter, "last_error": o.Error, "last_failure_at": at}
		}
		return translate(tx.Model(&alertChannelRecord{}).Where("id = ?", ch.ID).Updates(h).Error, "update alert channel health")
	})
}

// LogAlertTest records a test message sent from the GUI or API in the
// delivery log (state sent or failed, no rule), with an audit entry.
func (s *Store) LogAlertTest(ctx context.Context, ch alert.Channel, msg alert.Message, sendErr error, by string) (alert.Delivery, error) {
	now := s.now()
	b, err := json.Marshal(msg)
	if err != nil {
		return alert.Delivery{}, fmt.Errorf("encode alert message: %w", err)
	}
	rec := alertDeliveryRecord{
		ChannelID: ch.ID, ChannelName: ch.Name, RuleName: "test by " + by, Kind: string(alert.EventTest),
		EventIDs: "[]", Message: string(b), State: string(alert.DeliverySent), Attempts: 1, Key: msg.Key,
		OpenUntil: now, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now,
	}
	if sendErr != nil {
		rec.State, rec.LastError = string(alert.DeliveryFailed), sendErr.Error()
	} else {
		rec.SentAt = &now
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&rec).Error; err != nil {
			return translate(err, "log alert test")
		}
		return audit(tx, now, AuditEntry{Actor: by, Action: "alert.channel.test", Target: "alert-channel/" + ch.Name, Detail: rec.State})
	})
	if err != nil {
		return alert.Delivery{}, err
	}
	return rec.delivery()
}

// DeliveryQuery filters the delivery log.
type DeliveryQuery struct {
	ChannelID int64
	State     alert.DeliveryState
	Kind      alert.EventKind
	// Before pages: deliveries with a smaller id.
	Before int64
	Limit  int
}

// AlertDeliveries returns the delivery log, newest first.
func (s *Store) AlertDeliveries(ctx context.Context, q DeliveryQuery) ([]alert.Delivery, error) {
	db := s.db.WithContext(ctx).Order("id DESC")
	if q.ChannelID > 0 {
		db = db.Where("channel_id = ?", q.ChannelID)
	}
	if q.State != "" {
		db = db.Where("state = ?", string(q.State))
	}
	if q.Kind != "" {
		db = db.Where("kind = ?", string(q.Kind))
	}
	if q.Before > 0 {
		db = db.Where("id < ?", q.Before)
	}
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 100
	}
	var recs []alertDeliveryRecord
	if err := db.Limit(q.Limit).Find(&recs).Error; err != nil {
		return nil, translate(err, "read alert deliveries")
	}
	out := make([]alert.Delivery, 0, len(recs))
	for _, r := range recs {
		d, err := r.delivery()
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// AlertDelivery returns one delivery.
func (s *Store) AlertDelivery(ctx context.Context, id int64) (alert.Delivery, error) {
	var r alertDeliveryRecord
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return alert.Delivery{}, translate(err, fmt.Sprintf("alert delivery %d", id))
	}
	return r.delivery()
}
