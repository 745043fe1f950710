package pages

import (
	"context"

	"github.com/koyomi-dev/koyomi/views"
)

// AlertChannelRow is one channel in the alerts overview.
type AlertChannelRow struct {
	ID           int64
	Name         string
	Kind         string
	Enabled      bool
	Target       string
	Failing      bool
	Failures     int
	LastError    string
	LastSuccess  string
	LastFailure  string
	SecretsKnown string
}

// AlertRuleRow is one rule in the alerts overview.
type AlertRuleRow struct {
	ID       int64
	Name     string
	Enabled  bool
	Kinds    string
	Scope    string
	Channels string
	Quiet    string
	Throttle string
}

// AlertDeliveryRow is one line of the delivery log.
type AlertDeliveryRow struct {
	ID        int64
	Created   string
	Channel   string
	Rule      string
	Kind      string
	Events    int
	Subject   string
	State     string
	Attempts  int
	Next      string
	Sent      string
	LastError string
}

// AlertsView is the alerts overview.
type AlertsView struct {
	Channels   []AlertChannelRow
	Rules      []AlertRuleRow
	Deliveries []AlertDeliveryRow
}

// AlertOption is a choice in a select or checkbox list.
type AlertOption struct {
	Value   string
	Label   string
	Checked bool
}

// AlertDeliveriesView is the delivery log with its filters.
type AlertDeliveriesView struct {
	State, Channel, Kind string
	States               []AlertOption
	Channels             []AlertOption
	Kinds                []AlertOption
	Rows                 []AlertDeliveryRow
	Next                 string
}

// AlertChannelForm is the channel editor; secrets are never filled in.
type AlertChannelForm struct {
	ID       int64
	Name     string
	Kind     string
	Enabled  bool
	Problems []string
	// Set secrets, shown as "set; leave empty to keep".
	PasswordSet, WebhookSet, TokenSet bool
	// Email.
	Host, Port, TLS, Username, From, To, Cc, RootCAs string
	Insecure                                         bool
	// Slack.
	SlackChannel, APIURL string
	// Templates.
	TplSubject, TplText, TplHTML, TplSlack string
}

// AlertRuleForm is the rule editor.
type AlertRuleForm struct {
	ID          int64
	Name        string
	Enabled     bool
	Scope       string
	Kinds       []AlertOption
	Channels    []AlertOption
	QuietFrom   string
	QuietTo     string
	QuietZone   string
	QuietPolicy string
	Throttle    string
	Problems    []string
}

func channelAction(id int64) string {
	if id == 0 {
		return "/alerts/channels"
	}
	return "/alerts/channels/" + alertID(id)
}

func ruleAction(id int64) string {
	if id == 0 {
		return "/alerts/rules"
	}
	return "/alerts/rules/" + alertID(id)
}

// secretHint is the placeholder of a write-only secret field.
func secretHint(ctx context.Context, set bool) string {
	if set {
		return views.T(ctx, "alerts.secret.set")
	}
	return views.T(ctx, "alerts.secret.unset")
}
