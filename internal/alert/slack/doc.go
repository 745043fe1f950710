// Package slack is the alert channel that posts alert.Message to Slack with
// github.com/slack-go/slack, through an incoming webhook or with a bot
// token and chat.postMessage.
//
// The message is msg.Blocks, the Block Kit rendering made by alert.Render
// (a header with the subject, mrkdwn sections of at most 3000 characters
// with event text escaped so it cannot form mentions or links, and a link
// button to the run page), with the subject as the notification text.
//
// Errors: Send returns *SendError with Slack's error Code. Retryable() is
// true for rate limiting (RetryAfter() then gives Slack's Retry-After),
// 5xx, internal_error-like codes and transport failures; false, and
// unwrapping to fault.ErrInvalid, for channel_not_found, invalid_auth,
// not_in_channel, no_service (webhook 404), invalid payloads and any
// unknown error code, since retrying those only repeats the failure.
// The deliverer consumes it through interface{ Retryable() bool } and
// interface{ RetryAfter() time.Duration }.
//
// Secrets: the webhook URL's path and the bot token are redacted from
// errors (transport errors quote the request URL), from String, %v/%#v
// and from slog output.
package slack
