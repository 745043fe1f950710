package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// DeliveryState is where a delivery stands.
type DeliveryState string

const (
	// DeliveryPending: created by routing; collects events until its
	// grouping window closes, then waits for its first attempt.
	DeliveryPending DeliveryState = "pending"
	// DeliverySending: claimed by a deliverer until its claim expires.
	DeliverySending DeliveryState = "sending"
	// DeliverySent: the channel accepted the message. Terminal.
	DeliverySent DeliveryState = "sent"
	// DeliveryRetrying: an attempt failed; the next is due at NextAttemptAt.
	DeliveryRetrying DeliveryState = "retrying"
	// DeliveryFailed: a permanent error, or the attempts ran out. Terminal.
	DeliveryFailed DeliveryState = "failed"
	// DeliveryDropped: the event arrived during quiet hours of a rule that
	// drops. Terminal; kept so the log shows it.
	DeliveryDropped DeliveryState = "dropped"
)

// DeliveryStates lists every state, for filters.
var DeliveryStates = []DeliveryState{DeliveryPending, DeliverySending, DeliveryRetrying, DeliverySent, DeliveryFailed, DeliveryDropped}

// IsTerminal reports whether no further attempt follows.
func (s DeliveryState) IsTerminal() bool {
	return s == DeliverySent || s == DeliveryFailed || s == DeliveryDropped
}

// Valid reports whether s is a known state.
func (s DeliveryState) Valid() bool {
	for _, x := range DeliveryStates {
		if x == s {
			return true
		}
	}
	return false
}

// OutboxEvent is an event of the outbox with its row id.
type OutboxEvent struct {
	ID    int64
	Event Event
}

// Delivery is one message to one channel: one event, or a group of events
// folded by a rule's throttle.
type Delivery struct {
	ID          int64         `json:"id"`
	ChannelID   int64         `json:"channel_id"`
	ChannelName string        `json:"channel"`
	RuleID      int64         `json:"rule_id,omitempty"`
	RuleName    string        `json:"rule,omitempty"`
	Kind        EventKind     `json:"kind"`
	GroupKey    string        `json:"-"`
	EventIDs    []int64       `json:"event_ids"`
	State       DeliveryState `json:"state"`
	Attempts    int           `json:"attempts"`
	// Key is the message's idempotency key (derived from the id); the
	// email Message-ID is built from it.
	Key           string     `json:"key"`
	NextAttemptAt time.Time  `json:"next_attempt_at"`
	OpenUntil     time.Time  `json:"-"`
	ClaimedUntil  *time.Time `json:"-"`
	LastError     string     `json:"last_error,omitempty"`
	SentAt        *time.Time `json:"sent_at,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	// Message is the rendered message, stored at the first attempt so
	// every retry sends the same text; nil before.
	Message *Message `json:"message,omitempty"`
	// Events are the delivery's events, filled by a claim.
	Events []Event `json:"-"`
}

// Claim names one attempt of a delivery held by a deliverer.
type Claim struct {
	ID      int64
	Attempt int
}

// Outcome ends one attempt.
type Outcome struct {
	// State is DeliverySent, DeliveryRetrying or DeliveryFailed.
	State DeliveryState
	Error string
	// NextAttemptAt is when a retrying delivery is due.
	NextAttemptAt time.Time
	At            time.Time
	// Health is false for failures that say nothing about the channel
	// (a deleted or disabled channel).
	Health bool
}

// Store is the persistence the deliverer needs; internal/store implements
// it. Every state change is a guarded update: a call that finds the row
// not in the expected state returns an error unwrapping to fault.ErrConflict.
type Store interface {
	// AlertOutbox returns up to limit unrouted events, oldest first.
	AlertOutbox(ctx context.Context, limit int) ([]OutboxEvent, error)
	// AlertRules returns every rule.
	AlertRules(ctx context.Context) ([]Rule, error)
	// RouteAlertEvent marks the event routed and, in the same
	// transaction, adds it to the open delivery of each route's group or
	// creates one.
	RouteAlertEvent(ctx context.Context, ev OutboxEvent, routes []Route, now time.Time) error
	// ClaimAlertDeliveries moves up to limit due deliveries (pending or
	// retrying whose time has come, or sending whose claim expired) to
	// sending with a claim until `until`, increments their attempts and
	// returns them with their events.
	ClaimAlertDeliveries(ctx context.Context, now, until time.Time, limit int) ([]Delivery, error)
	// RenewAlertClaims extends to `until` the claims of the given
	// deliveries that are still sending the given attempt; it returns how
	// many it renewed.
	RenewAlertClaims(ctx context.Context, claims []Claim, until time.Time) (int, error)
	// AlertChannelForSend returns a channel with its secrets.
	AlertChannelForSend(ctx context.Context, id int64) (Channel, Secrets, error)
	// SaveAlertMessage stores the rendered message of a claimed delivery.
	SaveAlertMessage(ctx context.Context, id int64, attempt int, msg Message) error
	// FinishAlertDelivery records the outcome of attempt `attempt` and
	// updates the channel's health (failing after failingAfter
	// consecutive failures).
	FinishAlertDelivery(ctx context.Context, id int64, attempt int, o Outcome, failingAfter int) error
}

// Sender sends one message through a channel (email.Channel, slack.Channel).
type Sender interface {
	Send(ctx context.Context, msg Message) error
}

// Opener builds the sender of a channel from its configuration and secrets.
type Opener func(ch Channel, sec Secrets) (Sender, error)

// Deliverer defaults.
const (
	PollIntervalDefault = 2 * time.Second
	// ClaimTTLDefault is how long a claim protects a delivery without
	// being renewed. The deliverer renews the claims of its batch every
	// third of it while it works through the batch, so a send may take
	// longer; a claim that expires (the process died) makes the delivery
	// due again within this time.
	ClaimTTLDefault = 30 * time.Second
	BatchDefault    = 100
	// SendTimeoutDefault bounds one send: a black-holed SMTP server or
	// Slack endpoint costs its own channel at most this per attempt.
	SendTimeoutDefault = 30 * time.Second
)

// DelivererParams configures a Deliverer.
type DelivererParams struct {
	Store  Store
	Open   Opener
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now          func() time.Time
	PollInterval time.Duration
	ClaimTTL     time.Duration
	// RenewEvery is how often the claims of the batch being sent are
	// renewed (default a third of ClaimTTL).
	RenewEvery   time.Duration
	Backoff      Backoff
	MaxAttempts  int
	FailingAfter int
	Batch        int
	// SendTimeout is the deadline of one send (default SendTimeoutDefault).
	SendTimeout time.Duration
}

// Deliverer routes outbox events into deliveries and sends them.
type Deliverer struct {
	p DelivererParams
}

// NewDeliverer fills defaults and returns a deliverer.
func NewDeliverer(p DelivererParams) (*Deliverer, error) {
	if p.Store == nil || p.Open == nil {
		return nil, fmt.Errorf("alert deliverer needs a store and an opener: %w", fault.ErrInvalid)
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.PollInterval <= 0 {
		p.PollInterval = PollIntervalDefault
	}
	if p.ClaimTTL <= 0 {
		p.ClaimTTL = ClaimTTLDefault
	}
	if p.RenewEvery <= 0 || p.RenewEvery >= p.ClaimTTL {
		p.RenewEvery = p.ClaimTTL / 3
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = MaxAttemptsDefault
	}
	if p.FailingAfter <= 0 {
		p.FailingAfter = FailingAfterDefault
	}
	if p.Batch <= 0 {
		p.Batch = BatchDefault
	}
	if p.SendTimeout <= 0 {
		p.SendTimeout = SendTimeoutDefault
	}
	return &Deliverer{p: p}, nil
}

// Run routes and sends every PollInterval until ctx ends. Failures are
// logged and retried on the next tick; Run returns nil on cancellation.
func (d *Deliverer) Run(ctx context.Context) error {
	t := time.NewTicker(d.p.PollInterval)
	defer t.Stop()
	for {
		if err := d.Tick(ctx); err != nil && ctx.Err() == nil {
			d.p.Logger.Warn("alert delivery", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Tick routes the pending outbox events, then sends the due deliveries.
func (d *Deliverer) Tick(ctx context.Context) error {
	rerr := d.Route(ctx)
	_, serr := d.Send(ctx)
	return errors.Join(rerr, serr)
}

// Route turns pending outbox events into deliveries.
func (d *Deliverer) Route(ctx context.Context) error {
	for {
		evs, err := d.p.Store.AlertOutbox(ctx, d.p.Batch)
		if err != nil {
			return fmt.Errorf("read alert outbox: %w", err)
		}
		if len(evs) == 0 {
			return nil
		}
		rules, err := d.p.Store.AlertRules(ctx)
		if err != nil {
			return fmt.Errorf("read alert rules: %w", err)
		}
		for _, ev := range evs {
			now := d.p.Now()
			if err := d.p.Store.RouteAlertEvent(ctx, ev, Plan(rules, ev.Event, now), now); err != nil {
				if errors.Is(err, fault.ErrConflict) {
					continue // another replica routed it
				}
				return fmt.Errorf("route alert event %d: %w", ev.ID, err)
			}
		}
		if len(evs) < d.p.Batch {
			return nil
		}
	}
}

// Send claims the due deliveries and attempts each once; it returns how
// many it attempted.
func (d *Deliverer) Send(ctx context.Context) (int, error) {
	now := d.p.Now()
	ds, err := d.p.Store.ClaimAlertDeliveries(ctx, now, now.Add(d.p.ClaimTTL), d.p.Batch)
	if err != nil {
		return 0, fmt.Errorf("claim alert deliveries: %w", err)
	}
	if len(ds) == 0 {
		return 0, nil
	}
	// While the batch is being sent its unfinished claims are renewed, so
	// a short claim covers a long batch; if this process dies the renewal
	// stops and the claims run out within ClaimTTL.
	held := newHeld(ds)
	rctx, stopRenew := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		d.renew(rctx, held)
	}()
	defer func() {
		stopRenew()
		<-renewed
	}()
	// Channels are sent to concurrently, each channel's deliveries in
	// order: a slow or black-holed endpoint delays only its own channel.
	byChannel := map[int64][]Delivery{}
	var order []int64
	for _, dl := range ds {
		if _, ok := byChannel[dl.ChannelID]; !ok {
			order = append(order, dl.ChannelID)
		}
		byChannel[dl.ChannelID] = append(byChannel[dl.ChannelID], dl)
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, id := range order {
		wg.Add(1)
		go func(list []Delivery) {
			defer wg.Done()
			for _, dl := range list {
				err := d.attempt(ctx, dl)
				held.done(dl.ID)
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}(byChannel[id])
	}
	wg.Wait()
	return len(ds), errors.Join(errs...)
}

// held is the set of claims of a batch not yet finished.
type held struct {
	mu     sync.Mutex
	claims map[int64]int
}

func newHeld(ds []Delivery) *held {
	h := &held{claims: make(map[int64]int, len(ds))}
	for _, dl := range ds {
		h.claims[dl.ID] = dl.Attempts
	}
	return h
}

func (h *held) done(id int64) {
	h.mu.Lock()
	delete(h.claims, id)
	h.mu.Unlock()
}

func (h *held) list() []Claim {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Claim, 0, len(h.claims))
	for id, a := range h.claims {
		out = append(out, Claim{ID: id, Attempt: a})
	}
	return out
}

// renew extends the unfinished claims every RenewEvery until ctx ends.
func (d *Deliverer) renew(ctx context.Context, h *held) {
	t := time.NewTicker(d.p.RenewEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cs := h.list()
		if len(cs) == 0 {
			continue
		}
		if _, err := d.p.Store.RenewAlertClaims(ctx, cs, d.p.Now().Add(d.p.ClaimTTL)); err != nil && ctx.Err() == nil {
			d.p.Logger.Warn("renew alert delivery claims", "err", err)
		}
	}
}

func (d *Deliverer) attempt(ctx context.Context, dl Delivery) error {
	finish := func(o Outcome) error {
		o.At = d.p.Now()
		if err := d.p.Store.FinishAlertDelivery(ctx, dl.ID, dl.Attempts, o, d.p.FailingAfter); err != nil {
			return fmt.Errorf("finish alert delivery %d: %w", dl.ID, err)
		}
		log := d.p.Logger.With("delivery", dl.ID, "channel", dl.ChannelName, "attempt", dl.Attempts, "state", o.State)
		if o.Error != "" {
			log.Warn("alert not delivered", "err", o.Error, "next", o.NextAttemptAt)
		} else {
			log.Info("alert delivered", "events", len(dl.EventIDs))
		}
		return nil
	}
	ch, sec, err := d.p.Store.AlertChannelForSend(ctx, dl.ChannelID)
	if errors.Is(err, fault.ErrNotFound) {
		return finish(Outcome{State: DeliveryFailed, Error: "the channel was deleted"})
	}
	if err != nil {
		return fmt.Errorf("read alert channel %d: %w", dl.ChannelID, err)
	}
	if !ch.Enabled {
		return finish(Outcome{State: DeliveryFailed, Error: "the channel is disabled"})
	}
	msg := dl.Message
	if msg == nil {
		if len(dl.Events) == 0 {
			return finish(Outcome{State: DeliveryFailed, Error: "no events to send"})
		}
		m, err := Render(ch.Templates, dl.Events)
		if err != nil {
			return finish(Outcome{State: DeliveryFailed, Error: "render: " + err.Error(), Health: true})
		}
		m.Key = dl.Key
		if err := d.p.Store.SaveAlertMessage(ctx, dl.ID, dl.Attempts, m); err != nil {
			return fmt.Errorf("save alert message %d: %w", dl.ID, err)
		}
		msg = &m
	}
	msg.Key = dl.Key
	sender, err := d.p.Open(ch, sec)
	if err != nil {
		return finish(Outcome{State: DeliveryFailed, Error: "configure channel: " + err.Error(), Health: true})
	}
	sctx, cancel := context.WithTimeout(ctx, d.p.SendTimeout)
	err = sender.Send(sctx, *msg)
	cancel()
	if err == nil {
		return finish(Outcome{State: DeliverySent, Health: true})
	}
	if ctx.Err() != nil {
		// Shutting down: the claim expires and the delivery is retried.
		return nil
	}
	o := Outcome{State: DeliveryFailed, Error: err.Error(), Health: true}
	if Retryable(err) && dl.Attempts < d.p.MaxAttempts {
		wait := d.p.Backoff.Delay(dl.Attempts)
		if ra := RetryAfter(err); ra > wait {
			wait = ra
		}
		o.State = DeliveryRetrying
		o.NextAttemptAt = d.p.Now().Add(wait)
	} else if Retryable(err) {
		o.Error = fmt.Sprintf("gave up after %d attempts: %s", dl.Attempts, o.Error)
	}
	return finish(o)
}
