// Package alert turns run events into messages people receive.
//
// # Events
//
// An Event (job ended abnormally or with warning, failed to start, retry,
// start/end delay, generation ended, dispatch error, leader change, test)
// is written to the outbox table alert_events by the runner in the same
// transaction as the state change that causes it, so an event exists
// exactly when its state change committed. Its URL links to the run page.
//
// # Channels and rules
//
// A Channel is an email (SMTP) or Slack destination. Its Config is the
// kind's configuration without secrets; the SMTP password, the Slack
// webhook URL and the bot token are Secrets, stored in their own column,
// write-only: the API and the GUI say which are set, never what they are,
// and an empty secret in an update keeps the stored one. Each channel has
// its own Templates (empty = the embedded defaults), checked with
// ParseTemplates when saved.
//
// A Rule selects events by kind (one or more) and scope: "" for
// everything, or "folder", "folder/jobnet", "folder/jobnet/job", matched
// by whole path segments ("sales/nightly" does not match
// "sales/nightly2"). It sends to one or more channels.
//
// # Throttle
//
// Events routed by one rule to one channel with the same kind and arriving
// within the rule's throttle window (default 60 s) share one delivery and
// so one message: the window opens with the first event, and the delivery
// is due when it closes. A batch where 500 jobs fail therefore sends one
// mail per rule, channel and kind (at most GroupMax events per message;
// more start the next one). Throttle 0 sends each event at once.
//
// # Quiet hours
//
// A rule may have a daily window in a time zone (From–To, HH:MM, may cross
// midnight). An event routed inside it is, by the rule's policy,
//   - held (default): its delivery stays open until the quiet hours end
//     (or the throttle window, whichever is later), so everything that
//     happened overnight arrives as one message at the end; or
//   - dropped: a delivery in state "dropped" records it in the log and
//     nothing is sent.
//
// An end time inside a DST gap ends the window at the first instant after
// the gap.
//
// # Outbox → deliveries
//
// The Deliverer (Run(ctx), every PollInterval) first routes: for each
// pending outbox event, in one transaction, the event is marked routed
// (guarded: only from pending, so two replicas never route it twice) and
// joined to the open delivery of its group or a new delivery is created
// (Plan computes the routes; it is pure). Then it sends: it claims due
// deliveries (pending or retrying whose time came, or sending whose claim
// expired) with FOR UPDATE SKIP LOCKED on PostgreSQL, moving each to
// sending with attempts+1 and a claim of ClaimTTL (30 s), renewed every
// third of it while the batch is being sent; renders the message at
// the first attempt and stores it, so retries send the same text; sends;
// and records the outcome with a guarded update (only from sending with
// the same attempt number). The claimed deliveries of different channels
// are sent concurrently, each channel's in order, and every send has a
// deadline (SendTimeout, 30 s): a slow or black-holed SMTP server or Slack
// endpoint delays only its own channel, and its attempt ends as a
// retryable failure.
//
// Delivery states: pending → sending → sent | retrying → sending … |
// failed; dropped for quiet-hour drops.
//
// # Retries
//
// A failed attempt is retried when the channel says the error is
// temporary (Retryable; errors that do not say are retried): after
// Backoff.Delay(attempt) = 30 s·2^(attempt−1), capped at one hour, or
// later if Slack asked so (RetryAfter). After MaxAttempts (12) or on a
// permanent error (5xx SMTP reply, rejected credentials, Slack
// channel_not_found…) the delivery is failed. Every attempt updates the
// channel's health: FailingAfter (3) consecutive failures mark it
// failing, shown in the GUI; the next success clears it.
//
// # Guarantees
//
// None lost: an event exists iff its state change committed, and stays
// pending until a routing transaction commits; a delivery stays due until
// an attempt's outcome commits. A process that dies while sending stops
// renewing its claims; they expire within ClaimTTL (30 s) and the
// deliveries of its batch, the one on the wire and those queued behind
// it, are sent by another deliverer: delivery is at least once.
// None twice in the normal case: claims are exclusive and outcomes are
// guarded. After a crash between the channel accepting a message and the
// outcome being recorded, it is sent again with the same Key (the
// delivery id plus a random suffix fixed at creation), so the email
// Message-ID and X-Koyomi-Key header repeat and mail systems can
// deduplicate.
package alert
