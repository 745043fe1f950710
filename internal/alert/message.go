package alert

import (
	"encoding/json"
	"time"
)

// EventKind names what happened.
type EventKind string

const (
	EventJobAbnormal        EventKind = "job_abnormal"
	EventJobWarning         EventKind = "job_warning"
	EventJobFailedToStart   EventKind = "job_failed_to_start"
	EventJobRetry           EventKind = "job_retry"
	EventStartDelay         EventKind = "start_delay"
	EventEndDelay           EventKind = "end_delay"
	EventGenerationNormal   EventKind = "generation_normal"
	EventGenerationAbnormal EventKind = "generation_abnormal"
	EventGenerationWarning  EventKind = "generation_warning"
	EventLeaderChange       EventKind = "leader_change"
	EventDispatchError      EventKind = "dispatch_error"
	EventTest               EventKind = "test"
)

// Deadline events, raised by the forecast once per generation (or unit) and kind.
const (
	// EventDeadlineAtRisk: the predicted end of a generation (or unit) passes its deadline.
	EventDeadlineAtRisk EventKind = "deadline_at_risk"
	// EventDeadlineMissed: the deadline passed before the generation (or unit) ended.
	EventDeadlineMissed EventKind = "deadline_missed"
)

// Severity orders events for colouring and subject prefixes.
type Severity string

const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// Event is one alertable occurrence with the facts a person needs.
type Event struct {
	Kind         EventKind `json:"kind"`
	Severity     Severity  `json:"severity"`
	At           time.Time `json:"at"`
	Folder       string    `json:"folder,omitempty"`
	Jobnet       string    `json:"jobnet,omitempty"`
	Job          string    `json:"job,omitempty"`
	RunID        string    `json:"run_id,omitempty"`
	BusinessDate string    `json:"business_date,omitempty"`
	State        string    `json:"state,omitempty"`
	ExitCode     *int      `json:"exit_code,omitempty"`
	Attempt      int       `json:"attempt,omitempty"`
	Detail       string    `json:"detail,omitempty"`
	LogTail      []string  `json:"log_tail,omitempty"`
	// URL links to the generation page.
	URL string `json:"url,omitempty"`
}

// Message is what a channel sends: one event, or a group of similar events
// folded together by the throttle.
type Message struct {
	// Key is the delivery's idempotency key (the outbox row id).
	Key     string `json:"key"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html,omitempty"`
	// Blocks is the Slack Block Kit rendering (a JSON array of blocks),
	// filled by Render; channels other than Slack ignore it.
	Blocks json.RawMessage `json:"blocks,omitempty"`
	Events []Event         `json:"events"`
}
