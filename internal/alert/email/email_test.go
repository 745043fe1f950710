package email_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/alert/email"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/testpeer/smtpd"
)

const secret = "s3cr3t-パス"

func testMessage(t *testing.T) alert.Message {
	t.Helper()
	code := 12
	msg, err := alert.Render(alert.DefaultTemplates(), []alert.Event{{
		Kind: alert.EventJobAbnormal, Severity: alert.SeverityCritical,
		At:     time.Date(2026, 4, 2, 3, 15, 0, 0, time.FixedZone("JST", 9*3600)),
		Folder: "営業", Jobnet: "夜間バッチ", Job: "売上集計", BusinessDate: "2026-04-01",
		State: "ended_abnormally", ExitCode: &code, Attempt: 2, Detail: "exit 12",
		LogTail: []string{"ERROR: <duplicate> key"}, URL: "https://koyomi.example/runs/g1?job=売上集計",
	}})
	require.NoError(t, err)
	msg.Key = "outbox-42"
	return msg
}

func config(s *smtpd.Server, mode email.TLSMode) email.Config {
	return email.Config{
		Host: "localhost", Port: s.Port(), TLS: mode,
		Username: "koyomi", Password: secret,
		From: "Koyomi <koyomi@example.jp>", To: []string{"ops@example.jp", "夜勤 <night@example.jp>"}, Cc: []string{"lead@example.jp"},
		RootCAs: s.CertPEM(), Timeout: 5 * time.Second,
	}
}

func TestSendDelivers(t *testing.T) {
	tests := []struct {
		name string
		srv  smtpd.TLSMode
		mode email.TLSMode
	}{
		{"starttls with auth", smtpd.TLSStartTLS, email.TLSStartTLS},
		{"implicit tls with auth", smtpd.TLSImplicit, email.TLSImplicit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := smtpd.Start(t, smtpd.Options{TLS: tt.srv, Username: "koyomi", Password: secret})
			ch, err := email.New(config(s, tt.mode))
			require.NoError(t, err)
			msg := testMessage(t)
			require.NoError(t, ch.Send(context.Background(), msg))

			got := s.Messages()
			require.Len(t, got, 1)
			m := got[0]
			require.True(t, m.TLS)
			require.Equal(t, "koyomi", m.AuthUser)
			require.Equal(t, "koyomi@example.jp", m.From)
			require.ElementsMatch(t, []string{"ops@example.jp", "night@example.jp", "lead@example.jp"}, m.To)
			require.Equal(t, "[CRITICAL] 営業/夜間バッチ/売上集計 ended abnormally (2026-04-01)", m.Subject)
			require.Contains(t, string(m.Raw), "=?UTF-8?", "the subject travels as encoded words")
			require.Equal(t, `"Koyomi" <koyomi@example.jp>`, m.Header.Get("From"))
			require.Contains(t, m.Header.Get("To"), "<ops@example.jp>")
			require.Contains(t, m.Header.Get("To"), "夜勤 <night@example.jp>")
			require.Equal(t, "<lead@example.jp>", m.Header.Get("Cc"))
			require.Equal(t, "<koyomi-alert.outbox-42@example.jp>", m.Header.Get("Message-Id"))
			require.Equal(t, "outbox-42", m.Header.Get("X-Koyomi-Key"))
			require.Contains(t, m.Header.Get("Content-Type"), "multipart/alternative")
			require.Equal(t, msg.Text, strings.ReplaceAll(m.Text, "\r\n", "\n"))
			require.Contains(t, m.Text, "Open the run: https://koyomi.example/runs/g1?job=売上集計")
			require.Contains(t, m.HTML, `<a href="https://koyomi.example/runs/g1?job=%e5%a3%b2%e4%b8%8a%e9%9b%86%e8%a8%88">Open the run</a>`)
			require.Contains(t, m.HTML, "ERROR: &lt;duplicate&gt; key")
		})
	}
}

func TestSendPlaintextRelay(t *testing.T) {
	s := smtpd.Start(t, smtpd.Options{TLS: smtpd.TLSNone})
	cfg := config(s, email.TLSNone)
	cfg.Username, cfg.Password = "", ""
	ch, err := email.New(cfg)
	require.NoError(t, err)
	require.NoError(t, ch.Send(context.Background(), testMessage(t)))
	got := s.Messages()
	require.Len(t, got, 1)
	require.False(t, got[0].TLS)
}

func retryable(t *testing.T, err error) bool {
	t.Helper()
	var r interface{ Retryable() bool }
	require.True(t, errors.As(err, &r), "error %v has no Retryable", err)
	return r.Retryable()
}

func TestSendFailures(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(*smtpd.Server, *email.Config)
		retryable bool
		code      int
		contains  string
	}{
		{"wrong password", func(_ *smtpd.Server, c *email.Config) { c.Password = "wrong-" + secret }, false, 535, "535"},
		{"rcpt 451", func(s *smtpd.Server, _ *email.Config) { s.FailNext(smtpd.StageRcpt, 451, 1) }, true, 451, "451"},
		{"mail 421", func(s *smtpd.Server, _ *email.Config) { s.FailNext(smtpd.StageMail, 421, 1) }, true, 421, "421"},
		{"data 452", func(s *smtpd.Server, _ *email.Config) { s.FailNext(smtpd.StageData, 452, 1) }, true, 452, "452"},
		{"rcpt 550", func(s *smtpd.Server, _ *email.Config) { s.FailNext(smtpd.StageRcpt, 550, 1) }, false, 550, "550"},
		{"data 554", func(s *smtpd.Server, _ *email.Config) { s.FailNext(smtpd.StageData, 554, 1) }, false, 554, "554"},
		{"server down", func(s *smtpd.Server, _ *email.Config) { s.Stop() }, true, 0, "connection refused"},
		{"untrusted certificate", func(_ *smtpd.Server, c *email.Config) { c.RootCAs = "" }, false, 0, "certificate"},
		{"nothing listening there", func(_ *smtpd.Server, c *email.Config) { c.Host = "127.0.0.2" }, true, 0, "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := smtpd.Start(t, smtpd.Options{TLS: smtpd.TLSStartTLS, Username: "koyomi", Password: secret})
			cfg := config(s, email.TLSStartTLS)
			tt.setup(s, &cfg)
			ch, err := email.New(cfg)
			require.NoError(t, err)
			err = ch.Send(context.Background(), testMessage(t))
			require.Error(t, err)
			require.Equal(t, tt.retryable, retryable(t, err), err.Error())
			var se *email.SendError
			require.ErrorAs(t, err, &se)
			require.Equal(t, tt.code, se.Code, err.Error())
			require.Contains(t, err.Error(), tt.contains)
			require.NotContains(t, err.Error(), secret)
			require.Empty(t, s.Messages())
		})
	}
}

func TestSendRetriesAfterRestart(t *testing.T) {
	s := smtpd.Start(t, smtpd.Options{TLS: smtpd.TLSStartTLS, Username: "koyomi", Password: secret})
	ch, err := email.New(config(s, email.TLSStartTLS))
	require.NoError(t, err)
	msg := testMessage(t)

	s.Stop()
	err = ch.Send(context.Background(), msg)
	require.True(t, retryable(t, err), err.Error())

	s.Restart()
	s.FailNext(smtpd.StageRcpt, 451, 1)
	err = ch.Send(context.Background(), msg)
	require.True(t, retryable(t, err), err.Error())

	require.NoError(t, ch.Send(context.Background(), msg))
	got := s.Messages()
	require.Len(t, got, 1)
	require.Equal(t, "<koyomi-alert.outbox-42@example.jp>", got[0].Header.Get("Message-Id"))
}

func TestSendCancelledContext(t *testing.T) {
	s := smtpd.Start(t, smtpd.Options{TLS: smtpd.TLSStartTLS, Username: "koyomi", Password: secret})
	ch, err := email.New(config(s, email.TLSStartTLS))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = ch.Send(ctx, testMessage(t))
	require.Error(t, err)
	require.True(t, retryable(t, err), err.Error())
}

func TestConfigValidate(t *testing.T) {
	err := email.Config{
		Host: "smtp example", Port: 70000, TLS: "ssl", Password: secret,
		From: "not-an-address", To: []string{"ok@example.jp", "bad@"}, Cc: []string{"@x"},
		RootCAs: "garbage", Timeout: -time.Second,
	}.Validate()
	require.ErrorIs(t, err, fault.ErrInvalid)
	ps, ok := fault.AsProblems(err)
	require.True(t, ok)
	var paths []string
	for _, p := range ps {
		paths = append(paths, p.Path)
	}
	require.Equal(t, []string{"host", "port", "tls", "username", "from", "to[1]", "cc[0]", "root_cas", "timeout"}, paths)
	require.NotContains(t, err.Error(), secret)

	err = email.Config{}.Validate()
	ps, _ = fault.AsProblems(err)
	require.Len(t, ps, 3, err.Error()) // host, from, to

	_, err = email.New(email.Config{Host: "smtp.example.jp", From: "a@example.jp", To: []string{"b@example.jp"}})
	require.NoError(t, err)
}

func TestSecretsStayOut(t *testing.T) {
	cfg := email.Config{Host: "smtp.example.jp", Username: "u", Password: secret, From: "a@example.jp", To: []string{"b@example.jp"}}
	ch, err := email.New(cfg)
	require.NoError(t, err)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("channel", "config", cfg)
	for _, s := range []string{cfg.String(), fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), ch.String(), logs.String()} {
		require.NotContains(t, s, secret)
	}
	require.Contains(t, cfg.String(), "password=REDACTED")
}

func TestMessageID(t *testing.T) {
	require.Equal(t, "koyomi-alert.42@example.jp", email.MessageID("42", "x@example.jp"))
	id := email.MessageID("key with <spaces>", "Ops <x@example.jp>")
	require.Regexp(t, `^koyomi-alert\.[0-9a-f]{32}@example\.jp$`, id)
	require.Equal(t, id, email.MessageID("key with <spaces>", "x@example.jp"), "stable across calls")
	require.NotEqual(t, id, email.MessageID("key with <spaces>!", "x@example.jp"))
	require.Equal(t, "koyomi-alert.k@koyomi.invalid", email.MessageID("k", "broken"))
}
