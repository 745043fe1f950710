package slack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/alert/slack"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/testpeer/slackd"
)

func testMessage(t *testing.T) alert.Message {
	t.Helper()
	code := 3
	msg, err := alert.Render(alert.DefaultTemplates(), []alert.Event{{
		Kind: alert.EventJobAbnormal, Severity: alert.SeverityCritical,
		At:     time.Date(2026, 4, 2, 3, 15, 0, 0, time.UTC),
		Folder: "営業", Jobnet: "nightly", Job: "<!channel> load", BusinessDate: "2026-04-01",
		State: "ended_abnormally", ExitCode: &code, LogTail: []string{"boom"},
		URL: "https://koyomi.example/runs/g1?job=load&tab=log",
	}})
	require.NoError(t, err)
	msg.Key = "outbox-7"
	return msg
}

type block struct {
	Type string `json:"type"`
	Text *struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"text"`
	Elements []struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	} `json:"elements"`
}

func requireRendered(t *testing.T, p slackd.Post, msg alert.Message) {
	t.Helper()
	require.Equal(t, "[CRITICAL] 営業/nightly/&lt;!channel&gt; load ended abnormally (2026-04-01)", p.Text)
	var blocks []block
	require.NoError(t, json.Unmarshal(p.Blocks, &blocks))
	require.Equal(t, "header", blocks[0].Type)
	require.Equal(t, msg.Subject, blocks[0].Text.Text)
	require.Equal(t, "section", blocks[1].Type)
	require.Equal(t, "mrkdwn", blocks[1].Text.Type)
	require.Contains(t, blocks[1].Text.Text, "*Job:* &lt;!channel&gt; load")
	require.Contains(t, blocks[1].Text.Text, "```\nboom\n```")
	require.Contains(t, blocks[1].Text.Text, "<https://koyomi.example/runs/g1?job=load&amp;tab=log|Open the run>")
	last := blocks[len(blocks)-1]
	require.Equal(t, "actions", last.Type)
	require.Equal(t, "https://koyomi.example/runs/g1?job=load&tab=log", last.Elements[0].URL)
}

func TestSendWebhook(t *testing.T) {
	s := slackd.Start(t, slackd.Options{})
	ch, err := slack.New(slack.Config{WebhookURL: s.WebhookURL()})
	require.NoError(t, err)
	msg := testMessage(t)
	require.NoError(t, ch.Send(context.Background(), msg))
	posts := s.Posts()
	require.Len(t, posts, 1)
	require.Equal(t, "webhook", posts[0].Via)
	requireRendered(t, posts[0], msg)
}

func TestSendBot(t *testing.T) {
	s := slackd.Start(t, slackd.Options{Token: "xoxb-1-secret"})
	ch, err := slack.New(slack.Config{BotToken: "xoxb-1-secret", Channel: "C0ALERTS", APIURL: s.APIURL()})
	require.NoError(t, err)
	msg := testMessage(t)
	require.NoError(t, ch.Send(context.Background(), msg))
	posts := s.Posts()
	require.Len(t, posts, 1)
	require.Equal(t, "chat.postMessage", posts[0].Via)
	require.Equal(t, "C0ALERTS", posts[0].Channel)
	requireRendered(t, posts[0], msg)
}

func sendErr(t *testing.T, err error) *slack.SendError {
	t.Helper()
	require.Error(t, err)
	var r interface {
		Retryable() bool
		RetryAfter() time.Duration
	}
	require.True(t, errors.As(err, &r))
	var se *slack.SendError
	require.ErrorAs(t, err, &se)
	return se
}

func TestSendFailures(t *testing.T) {
	const token = "xoxb-9-topsecret"
	tests := []struct {
		name       string
		bot        bool
		fail       *slackd.Failure
		token      string
		stop       bool
		code       string
		retryable  bool
		retryAfter time.Duration
	}{
		{"webhook 429", false, &slackd.Failure{Status: 429, RetryAfter: 7}, "", false, "rate_limited", true, 7 * time.Second},
		{"webhook 404 no_service", false, &slackd.Failure{Status: 404, Error: "no_service"}, "", false, "http_404", false, 0},
		{"webhook 500", false, &slackd.Failure{Status: 500}, "", false, "http_500", true, 0},
		{"webhook server down", false, nil, "", true, "", true, 0},
		{"bot 429", true, &slackd.Failure{Status: 429, RetryAfter: 30, Error: "ratelimited"}, token, false, "rate_limited", true, 30 * time.Second},
		{"bot invalid_auth", true, nil, "xoxb-wrong", false, "invalid_auth", false, 0},
		{"bot channel_not_found", true, &slackd.Failure{Error: "channel_not_found"}, token, false, "channel_not_found", false, 0},
		{"bot internal_error", true, &slackd.Failure{Error: "internal_error"}, token, false, "internal_error", true, 0},
		{"bot server down", true, nil, token, true, "", true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := slackd.Start(t, slackd.Options{Token: token})
			cfg := slack.Config{WebhookURL: s.WebhookURL()}
			if tt.bot {
				cfg = slack.Config{BotToken: tt.token, Channel: "C1", APIURL: s.APIURL()}
			}
			ch, err := slack.New(cfg)
			require.NoError(t, err)
			if tt.fail != nil {
				s.FailNext(*tt.fail)
			}
			if tt.stop {
				s.Close()
			}
			se := sendErr(t, ch.Send(context.Background(), testMessage(t)))
			require.Equal(t, tt.code, se.Code, se.Error())
			require.Equal(t, tt.retryable, se.Retryable(), se.Error())
			require.Equal(t, tt.retryAfter, se.RetryAfter())
			if !tt.retryable {
				require.ErrorIs(t, se, fault.ErrInvalid)
			}
			for _, secret := range []string{slackd.WebhookPath, "hooksecret", tt.token} {
				if secret != "" {
					require.NotContains(t, se.Error(), secret)
				}
			}
			if !tt.stop {
				require.Empty(t, s.Posts())
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   slack.Config
		paths []string
	}{
		{"empty", slack.Config{}, []string{""}},
		{"both", slack.Config{WebhookURL: "https://hooks.slack.com/services/T/B/x", BotToken: "xoxb-1", Channel: "C"}, []string{""}},
		{"bad webhook", slack.Config{WebhookURL: "ftp://hooks/secretpath"}, []string{"webhook_url"}},
		{"bot without channel", slack.Config{BotToken: "xoxb-1"}, []string{"channel"}},
		{"bad token and api", slack.Config{BotToken: "abc def", Channel: "C", APIURL: "http://x/api", Timeout: -1}, []string{"bot_token", "api_url", "timeout"}},
		{"ok webhook", slack.Config{WebhookURL: "https://hooks.slack.com/services/T/B/x"}, nil},
		{"ok bot", slack.Config{BotToken: "xoxb-1", Channel: "#ops"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.paths == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, fault.ErrInvalid)
			ps, _ := fault.AsProblems(err)
			var paths []string
			for _, p := range ps {
				paths = append(paths, p.Path)
			}
			require.Equal(t, tt.paths, paths, err.Error())
			require.NotContains(t, err.Error(), "secretpath")
			require.NotContains(t, err.Error(), "abc def")
		})
	}
}

func TestSecretsStayOut(t *testing.T) {
	for _, cfg := range []slack.Config{
		{WebhookURL: "https://hooks.slack.com/services/T1/B2/verysecret"},
		{BotToken: "xoxb-verysecret", Channel: "C1"},
	} {
		ch, err := slack.New(cfg)
		require.NoError(t, err)
		var logs bytes.Buffer
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("channel", "config", cfg)
		for _, s := range []string{cfg.String(), fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), ch.String(), logs.String()} {
			require.NotContains(t, s, "verysecret")
		}
	}
}

func TestSlackdRejectsBadBlocks(t *testing.T) {
	long := strings.Repeat("x", 3001)
	ps := slackd.ValidateBlocks(json.RawMessage(`[{"type":"section","text":{"type":"markdown","text":"` + long + `"}},{"text":{"type":"mrkdwn","text":"a"}},{"type":"header","text":{"type":"mrkdwn","text":"h"}}]`))
	require.Equal(t, []string{
		`blocks[0].text.type: "markdown" is not plain_text or mrkdwn`,
		"blocks[0].text.text: 3001 characters, the limit is 3000",
		"blocks[1]: no type",
		"blocks[2].text.type: must be plain_text",
	}, ps)

	s := slackd.Start(t, slackd.Options{})
	resp, err := http.Post(s.WebhookURL(), "application/json", strings.NewReader(`{"blocks":[{"type":"section"}]}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, []string{"blocks[0].text: missing"}, s.Invalid())
	require.Empty(t, s.Posts())
}
