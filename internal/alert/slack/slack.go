package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/fault"
)

// TimeoutDefault bounds one Send.
const TimeoutDefault = 30 * time.Second

// Config is one Slack channel: either an incoming webhook, or a bot token
// with the channel to post to.
type Config struct {
	// WebhookURL is an incoming-webhook URL (https://hooks.slack.com/services/…).
	WebhookURL string `json:"webhook_url,omitempty"`
	// BotToken (xoxb-…) and Channel (ID or #name) post with chat.postMessage.
	BotToken string `json:"bot_token,omitempty"`
	Channel  string `json:"channel,omitempty"`
	// APIURL overrides the Web API base URL (tests); it must end in "/".
	APIURL string `json:"api_url,omitempty"`
	// Timeout bounds one Send; default TimeoutDefault.
	Timeout time.Duration `json:"timeout,omitempty"`
}

// String describes the config with the secrets redacted.
func (c Config) String() string {
	if c.WebhookURL != "" {
		return "slack webhook " + redactWebhook(c.WebhookURL)
	}
	tok := ""
	if c.BotToken != "" {
		tok = " token=REDACTED"
	}
	return fmt.Sprintf("slack bot channel=%q%s", c.Channel, tok)
}

// GoString keeps secrets out of %#v.
func (c Config) GoString() string { return c.String() }

// LogValue keeps secrets out of slog output.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("webhook_url", redactWebhook(c.WebhookURL)),
		slog.Bool("bot_token_set", c.BotToken != ""),
		slog.String("channel", c.Channel), slog.String("api_url", c.APIURL),
	)
}

// redactWebhook keeps scheme and host and hides the path, which is the
// secret of an incoming webhook.
func redactWebhook(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "REDACTED"
	}
	return u.Scheme + "://" + u.Host + "/REDACTED"
}

// Validate returns every problem of the config as fault.Problems; secrets
// never appear in it.
func (c Config) Validate() error {
	var ps fault.Problems
	switch {
	case c.WebhookURL == "" && c.BotToken == "":
		ps.Add("", "set webhook_url, or bot_token and channel")
	case c.WebhookURL != "" && c.BotToken != "":
		ps.Add("", "set either webhook_url or bot_token, not both")
	}
	if c.WebhookURL != "" {
		u, err := url.Parse(c.WebhookURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(u.Path) < 2 {
			ps.Add("webhook_url", "%s is not an absolute http(s) URL with a path", redactWebhook(c.WebhookURL))
		}
	}
	if c.BotToken != "" {
		if !strings.HasPrefix(c.BotToken, "xox") || strings.ContainsAny(c.BotToken, " \t\r\n") {
			ps.Add("bot_token", "is not a Slack token (xoxb-…)")
		}
		if c.Channel == "" {
			ps.Add("channel", "is required with bot_token")
		}
	}
	if c.APIURL != "" {
		u, err := url.Parse(c.APIURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || !strings.HasSuffix(u.Path, "/") {
			ps.Add("api_url", "%q is not an absolute http(s) URL ending in /", c.APIURL)
		}
	}
	if c.Timeout < 0 {
		ps.Add("timeout", "must not be negative")
	}
	if err := ps.Err(); err != nil {
		return fmt.Errorf("slack channel config: %w", err)
	}
	return nil
}

// Channel posts alert messages to Slack. Safe for concurrent use.
type Channel struct {
	cfg  Config
	http *http.Client
	api  *slackapi.Client
}

// New validates cfg and returns a channel.
func New(cfg Config) (*Channel, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = TimeoutDefault
	}
	ch := &Channel{cfg: cfg, http: &http.Client{Timeout: cfg.Timeout}}
	if cfg.BotToken != "" {
		opts := []slackapi.Option{slackapi.OptionHTTPClient(ch.http)}
		if cfg.APIURL != "" {
			opts = append(opts, slackapi.OptionAPIURL(cfg.APIURL))
		}
		ch.api = slackapi.New(cfg.BotToken, opts...)
	}
	return ch, nil
}

// String describes the channel without secrets.
func (c *Channel) String() string { return "slack channel: " + c.cfg.String() }

// Send posts msg.Blocks (rendered by alert.Render) with msg.Subject as the
// notification text. A failure is a *SendError telling whether and when a
// retry can succeed.
func (c *Channel) Send(ctx context.Context, msg alert.Message) error {
	var blocks slackapi.Blocks
	if len(msg.Blocks) > 0 {
		if err := json.Unmarshal(msg.Blocks, &blocks); err != nil {
			return &SendError{Op: "decode blocks", err: fmt.Errorf("%v: %w", err, fault.ErrInvalid)}
		}
	}
	text := escape(msg.Subject)
	if text == "" {
		text = escape(firstLine(msg.Text))
	}
	if c.api != nil {
		opts := []slackapi.MsgOption{slackapi.MsgOptionText(text, false)}
		if len(blocks.BlockSet) > 0 {
			opts = append(opts, slackapi.MsgOptionBlocks(blocks.BlockSet...))
		}
		_, _, err := c.api.PostMessageContext(ctx, c.cfg.Channel, opts...)
		if err != nil {
			return c.classify("chat.postMessage", err)
		}
		return nil
	}
	wm := &slackapi.WebhookMessage{Text: text}
	if len(blocks.BlockSet) > 0 {
		wm.Blocks = &blocks
	}
	if err := slackapi.PostWebhookCustomHTTPContext(ctx, c.cfg.WebhookURL, c.http, wm); err != nil {
		return c.classify("webhook", err)
	}
	return nil
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func escape(s string) string { return escaper.Replace(s) }

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// SendError is a failed Send. Retryable reports whether a retry can
// succeed; RetryAfter is Slack's requested delay when rate limited.
// Its text never holds the webhook URL or the token.
type SendError struct {
	// Op is "webhook", "chat.postMessage" or "decode blocks".
	Op string
	// Code is Slack's error code (channel_not_found, invalid_auth,
	// rate_limited, no_service…) or "http_<status>".
	Code       string
	retryable  bool
	retryAfter time.Duration
	err        error
}

func (e *SendError) Error() string {
	kind := "permanent"
	if e.retryable {
		kind = "temporary"
	}
	s := fmt.Sprintf("slack %s (%s)", e.Op, kind)
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.retryAfter > 0 {
		s += fmt.Sprintf(", retry after %s", e.retryAfter)
	}
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

// Unwrap returns the redacted cause.
func (e *SendError) Unwrap() error { return e.err }

// Retryable reports whether a later retry can succeed.
func (e *SendError) Retryable() bool { return e.retryable }

// RetryAfter is the delay Slack asked for (429 Retry-After), or 0.
func (e *SendError) RetryAfter() time.Duration { return e.retryAfter }

// permanentCodes are Slack errors no retry fixes.
var permanentCodes = map[string]bool{
	"channel_not_found": true, "invalid_auth": true, "not_authed": true, "account_inactive": true,
	"token_revoked": true, "token_expired": true, "not_in_channel": true, "is_archived": true,
	"channel_is_archived": true, "missing_scope": true, "invalid_blocks": true, "invalid_blocks_format": true,
	"msg_too_long": true, "no_text": true, "invalid_payload": true, "no_service": true,
	"no_service_id": true, "no_team": true, "team_disabled": true, "action_prohibited": true,
	"posting_to_general_channel_denied": true, "restricted_action": true, "user_not_found": true,
	"invalid_token": true, "ekm_access_denied": true, "invalid_arguments": true, "too_many_attachments": true,
}

// temporaryCodes are Slack errors a later retry may clear.
var temporaryCodes = map[string]bool{
	"rate_limited": true, "ratelimited": true, "internal_error": true, "fatal_error": true,
	"service_unavailable": true, "request_timeout": true, "team_added_to_org": true,
}

func (c *Channel) classify(op string, err error) *SendError {
	se := &SendError{Op: op}
	var rl *slackapi.RateLimitedError
	var ser slackapi.SlackErrorResponse
	var sce slackapi.StatusCodeError
	switch {
	case errors.As(err, &rl):
		se.Code, se.retryable, se.retryAfter = "rate_limited", true, rl.RetryAfter
	case errors.As(err, &ser):
		se.Code = ser.Err
		switch {
		case temporaryCodes[ser.Err]:
			se.retryable = true
		case permanentCodes[ser.Err]:
			se.err = fault.ErrInvalid
		default:
			// An unknown error code: most Slack API errors are about the
			// request or the workspace, so do not retry blindly.
			se.err = fault.ErrInvalid
		}
	case errors.As(err, &sce):
		se.Code = fmt.Sprintf("http_%d", sce.Code)
		se.retryable = sce.Code == http.StatusTooManyRequests || sce.Code >= 500 || sce.Code == http.StatusRequestTimeout
		if !se.retryable {
			se.err = fault.ErrInvalid
		}
	default:
		// Transport failures (refused, reset, timeout, cancelled).
		se.retryable = true
		se.err = errors.New(c.redact(err.Error()))
	}
	return se
}

// redact removes the webhook URL (and its path), the API URL's query and
// the token from s.
func (c *Channel) redact(s string) string {
	if c.cfg.WebhookURL != "" {
		s = strings.ReplaceAll(s, c.cfg.WebhookURL, redactWebhook(c.cfg.WebhookURL))
		if u, err := url.Parse(c.cfg.WebhookURL); err == nil && len(u.Path) > 1 {
			s = strings.ReplaceAll(s, u.Path, "/REDACTED")
			s = strings.ReplaceAll(s, u.EscapedPath(), "/REDACTED")
		}
	}
	if c.cfg.BotToken != "" {
		s = strings.ReplaceAll(s, c.cfg.BotToken, "REDACTED")
	}
	return s
}
