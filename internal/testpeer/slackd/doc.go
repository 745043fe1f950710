// Package slackd is a Slack double for tests: an httptest server on
// 127.0.0.1 that accepts incoming-webhook POSTs (WebhookURL) and the Web
// API's chat.postMessage (APIURL; form or JSON bodies, token as Bearer
// header or form field), the two ways alerts reach Slack.
//
// It answers like Slack: webhooks with 200 "ok" or a status and a
// plain-text error code; the Web API with HTTP 200 {"ok":true} or
// {"ok":false,"error":…} (invalid_auth for a wrong token,
// channel_not_found without a channel). FailNext injects an answer: 429
// with Retry-After, 5xx, or an ok:false code.
//
// Every payload is checked against the Block Kit rules Slack enforces
// (ValidateBlocks: block types, text object types plain_text/mrkdwn,
// header ≤ 150 and section ≤ 3000 characters, ≤ 50 blocks, button URLs);
// an invalid payload is refused with invalid_blocks and reported by Posts
// as a test failure, so a channel cannot pass a test with a message real
// Slack would reject.
package slackd
