package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	yaml "go.yaml.in/yaml/v3"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/alert/email"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/testpeer/pgtest"
	"github.com/koyomi-dev/koyomi/internal/testpeer/slackd"
	"github.com/koyomi-dev/koyomi/internal/testpeer/smtpd"
)

const (
	alertBaseURL = "http://koyomi.example"
	alertJobnet  = "sales/nightly"
	alertFrom    = "koyomi@example.com"
	// alertScope narrows the rule to the one jobnet.
	alertScope = alertJobnet
)

// alertEnv is one database with the sales examples applied (extract made
// to fail), an email channel to an in-process SMTP server (STARTTLS, AUTH,
// its CA trusted through the channel's root_cas), a Slack webhook channel
// to the Slack double and a rule sending job_abnormal and
// generation_abnormal of the folder sales to both.
type alertEnv struct {
	dbURL, data string
	addr        string
	st          *store.Store
	db          *sql.DB
	mail        *smtpd.Server
	slack       *slackd.Server
	emailCh     alert.Channel
	slackCh     alert.Channel
}

// failingSalesExamples writes calendars.yaml, pools.yaml and sales.yaml
// from examples/ into dir, with sales/nightly's extract job replaced by
// `exit 3` and its retries removed (they would wait 2 minutes each), and
// without its schedule, end delay and deadline: depending on the hour the
// tests run, the planner would otherwise start the day's own generation
// beside the one run now, or the end delay's time would have passed, and
// their alerts would join those the tests count.
func failingSalesExamples(t *testing.T, dir string) {
	t.Helper()
	for _, name := range []string{"calendars.yaml", "pools.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", name))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	src, err := os.ReadFile(filepath.Join("..", "..", "examples", "sales.yaml"))
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	changed := false
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "examples/sales.yaml")
		if doc["kind"] == "Jobnet" && doc["name"] == "nightly" {
			// 25:30, 28:30 and 30:00 of the business day in Tokyo
			// fall in the afternoon and evening UTC.
			delete(doc, "schedule")
			delete(doc, "delay")
			delete(doc, "deadline")
			units, _ := doc["units"].([]any)
			for _, u := range units {
				um, _ := u.(map[string]any)
				if um["name"] != "extract" {
					continue
				}
				job := um["job"].(map[string]any)
				job["local"].(map[string]any)["command"] = "exit 3"
				delete(job, "retry")
				changed = true
			}
		}
		require.NoError(t, enc.Encode(doc))
	}
	require.NoError(t, enc.Close())
	require.True(t, changed, "examples/sales.yaml has the jobnet nightly with the job extract")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sales.yaml"), out.Bytes(), 0o644))
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func setupAlerts(t *testing.T, throttle time.Duration) *alertEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	env := &alertEnv{dbURL: pgtest.Database(t), data: filepath.Join(dir, "data"), addr: freeAddr(t)}
	defs := filepath.Join(dir, "defs")
	require.NoError(t, os.MkdirAll(defs, 0o755))
	failingSalesExamples(t, defs)
	cli(t, env.dbURL, env.data, "migrate", "up")
	cli(t, env.dbURL, env.data, "apply", "-f", defs)

	env.st = openStore(t, env.dbURL)
	db, err := sql.Open("pgx", env.dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	env.db = db

	env.mail = smtpd.Start(t, smtpd.Options{TLS: smtpd.TLSStartTLS, Username: "koyomi", Password: "e2e-smtp-pw"})
	env.slack = slackd.Start(t, slackd.Options{})
	svc := ops.New(ops.Params{Store: env.st})
	admin := ops.Actor{Username: "e2e", Role: store.RoleAdmin}
	cfg, err := json.Marshal(email.Config{Host: env.mail.Host(), Port: env.mail.Port(), TLS: email.TLSStartTLS, Username: "koyomi",
		Password: "e2e-smtp-pw", From: alertFrom, To: []string{"ops@example.com"}, RootCAs: env.mail.CertPEM(), Timeout: 5 * time.Second})
	require.NoError(t, err)
	env.emailCh, err = svc.CreateAlertChannel(ctx, admin, ops.ChannelInput{Name: "ops-mail", Kind: alert.ChannelEmail, Enabled: true, Config: cfg})
	require.NoError(t, err)
	env.slackCh, err = svc.CreateAlertChannel(ctx, admin, ops.ChannelInput{Name: "ops-slack", Kind: alert.ChannelSlack, Enabled: true,
		Config: []byte(`{}`), Secrets: alert.Secrets{WebhookURL: env.slack.WebhookURL()}})
	require.NoError(t, err)
	_, err = svc.CreateAlertRule(ctx, admin, alert.Rule{Name: "sales nightly failures", Enabled: true,
		Kinds: []alert.EventKind{alert.EventJobAbnormal, alert.EventGenerationAbnormal}, Scope: alertScope,
		Channels: []int64{env.emailCh.ID, env.slackCh.ID}, Throttle: throttle})
	require.NoError(t, err)
	return env
}

// serve starts `koyomi serve` on env.addr with the alert base URL and
// waits until it serves HTTP.
func (env *alertEnv) serve(t *testing.T, node string) *server {
	t.Helper()
	srv := startServe(t, env.dbURL, env.data, node, "--listen", env.addr, "--base-url", alertBaseURL)
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + env.addr + "/healthz")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 50*time.Millisecond, "serve did not start:\n%s", srv.out.String())
	return srv
}

// token makes an API token for the admin the server created at its first
// start.
func (env *alertEnv) token(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	u, err := env.st.UserByName(ctx, ops.AdminUsername)
	require.NoError(t, err)
	secret, _, err := ops.New(ops.Params{Store: env.st}).CreateToken(ctx, ops.Actor{UserID: u.ID, Username: u.Username, Role: u.Role}, "alerts-e2e")
	require.NoError(t, err)
	return secret
}

// get answers the status and body of an authenticated GET on the server.
func (env *alertEnv) get(t *testing.T, token, path string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+env.addr+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// eventKinds counts the outbox events written for one generation by kind.
func (env *alertEnv) eventKinds(t *testing.T, genID string) map[alert.EventKind]int {
	t.Helper()
	rows, err := env.db.QueryContext(context.Background(), "SELECT kind FROM alert_events WHERE run_id = $1", genID)
	require.NoError(t, err)
	defer rows.Close()
	out := map[alert.EventKind]int{}
	for rows.Next() {
		var k string
		require.NoError(t, rows.Scan(&k))
		out[alert.EventKind(k)]++
	}
	require.NoError(t, rows.Err())
	return out
}

func (env *alertEnv) deliveries(t *testing.T) []alert.Delivery {
	t.Helper()
	ds, err := env.st.AlertDeliveries(context.Background(), store.DeliveryQuery{})
	require.NoError(t, err)
	return ds
}

// received is what arrived, classified by event kind through the subjects
// the deliveries stored.
type received struct {
	mails []smtpd.Message
	posts []slackd.Post
	// mailKinds and postKinds count arrivals per kind; an arrival whose
	// subject no delivery has is counted under "".
	mailKinds, postKinds map[alert.EventKind]int
}

func (env *alertEnv) received(t *testing.T) received {
	t.Helper()
	subjects := map[string]alert.EventKind{}
	for _, d := range env.deliveries(t) {
		if d.Message == nil {
			continue
		}
		if k, dup := subjects[d.Message.Subject]; dup && k != d.Kind {
			t.Fatalf("deliveries of kinds %s and %s share the subject %q", k, d.Kind, d.Message.Subject)
		}
		subjects[d.Message.Subject] = d.Kind
	}
	r := received{mails: env.mail.Messages(), posts: env.slack.Posts(), mailKinds: map[alert.EventKind]int{}, postKinds: map[alert.EventKind]int{}}
	for _, m := range r.mails {
		r.mailKinds[subjects[m.Subject]]++
	}
	for _, p := range r.posts {
		r.postKinds[subjects[p.Text]]++
	}
	return r
}

var wantOnePerKind = map[alert.EventKind]int{alert.EventJobAbnormal: 1, alert.EventGenerationAbnormal: 1}

// waitOnePerKind waits until one mail and one Slack post per kind arrived,
// then waits a few deliverer polls more and checks nothing else came.
func (env *alertEnv) waitOnePerKind(t *testing.T, srv *server, timeout time.Duration) received {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		r := env.received(t)
		if len(r.mails) >= 2 && len(r.posts) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %d mails %v, %d Slack posts %v; deliveries %s\nserver output:\n%s", timeout,
				len(r.mails), r.mailKinds, len(r.posts), r.postKinds, describeDeliveries(env.deliveries(t)), srv.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(alert.PollIntervalDefault + 500*time.Millisecond)
	r := env.received(t)
	require.Equal(t, wantOnePerKind, r.mailKinds, "exactly one mail per kind: %d mails", len(r.mails))
	require.Equal(t, wantOnePerKind, r.postKinds, "exactly one Slack post per kind: %d posts", len(r.posts))
	require.Empty(t, env.slack.Invalid())
	return r
}

func describeDeliveries(ds []alert.Delivery) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString("\n  " + d.ChannelName + " " + string(d.Kind) + " " + string(d.State) + " attempts=" + strconv.Itoa(d.Attempts) + " " + d.LastError)
	}
	return b.String()
}
