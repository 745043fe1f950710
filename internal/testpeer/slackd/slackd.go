package slackd

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// WebhookPath is the incoming-webhook path the server accepts; WebhookURL
// returns the full URL.
const WebhookPath = "/services/T000/B000/hooksecret"

// Options configures the double.
type Options struct {
	// Token is the bot token chat.postMessage requires (default "xoxb-test").
	Token string
}

// Post is one accepted message.
type Post struct {
	// Via is "webhook" or "chat.postMessage".
	Via     string
	Channel string
	Text    string
	// Blocks is the raw Block Kit JSON array.
	Blocks json.RawMessage
}

// Failure is an injected answer.
type Failure struct {
	// Status is the HTTP status (default 200 for Slack API errors).
	Status int
	// RetryAfter, in seconds, is sent as the Retry-After header when > 0.
	RetryAfter int
	// Error is the Slack error code: the `error` of an ok:false API
	// answer, or the plain-text body of a webhook answer.
	Error string
}

// Server is a running Slack double.
type Server struct {
	t     testing.TB
	opts  Options
	srv   *httptest.Server
	mu    sync.Mutex
	posts []Post
	fails []Failure
	// Problems found in received payloads (bad Block Kit structure).
	invalid []string
}

// Start starts the double on 127.0.0.1; it stops when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Token == "" {
		opts.Token = "xoxb-test"
	}
	s := &Server{t: t, opts: opts}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+WebhookPath, s.webhook)
	mux.HandleFunc("POST /api/chat.postMessage", s.postMessage)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// WebhookURL is the incoming-webhook URL.
func (s *Server) WebhookURL() string { return s.srv.URL + WebhookPath }

// APIURL is the Web API base URL, ending in "/api/".
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// Token is the accepted bot token.
func (s *Server) Token() string { return s.opts.Token }

// FailNext answers the next request with f instead of accepting it.
func (s *Server) FailNext(f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails = append(s.fails, f)
}

// Posts returns the accepted messages. Payloads that broke Block Kit rules
// fail the test.
func (s *Server) Posts() []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.invalid {
		s.t.Errorf("slackd: invalid payload: %s", p)
	}
	s.invalid = nil
	return append([]Post(nil), s.posts...)
}

// Invalid returns and clears the Block Kit problems found in received
// payloads, for tests that send bad payloads on purpose.
func (s *Server) Invalid() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.invalid
	s.invalid = nil
	return out
}

// Close stops the server: clients then get "connection refused".
func (s *Server) Close() { s.srv.Close() }

func (s *Server) nextFailure() (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fails) == 0 {
		return Failure{}, false
	}
	f := s.fails[0]
	s.fails = s.fails[1:]
	return f, true
}

func (s *Server) record(p Post, problems []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invalid = append(s.invalid, problems...)
	if len(problems) == 0 {
		s.posts = append(s.posts, p)
	}
}

// webhook answers like hooks.slack.com: 200 "ok", or a status with a
// plain-text error code.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.nextFailure(); ok {
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		status := f.Status
		if status == 0 {
			status = http.StatusBadRequest
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, f.Error)
		return
	}
	var body struct {
		Text   string          `json:"text"`
		Blocks json.RawMessage `json:"blocks"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	problems := ValidateBlocks(body.Blocks)
	if body.Text == "" && len(body.Blocks) == 0 {
		problems = append(problems, "neither text nor blocks")
	}
	s.record(Post{Via: "webhook", Text: body.Text, Blocks: body.Blocks}, problems)
	if len(problems) > 0 {
		http.Error(w, "invalid_blocks", http.StatusBadRequest)
		return
	}
	_, _ = io.WriteString(w, "ok")
}

// postMessage answers like the Web API: HTTP 200 with {"ok":true,...} or
// {"ok":false,"error":...}; 429 with Retry-After when rate limited.
func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	var p Post
	p.Via = "chat.postMessage"
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		var body struct {
			Channel string          `json:"channel"`
			Text    string          `json:"text"`
			Blocks  json.RawMessage `json:"blocks"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			apiError(w, "invalid_json")
			return
		}
		p.Channel, p.Text, p.Blocks = body.Channel, body.Text, body.Blocks
	default:
		if err := r.ParseForm(); err != nil {
			apiError(w, "invalid_form_data")
			return
		}
		if token == "" {
			token = r.PostForm.Get("token")
		}
		p.Channel, p.Text = r.PostForm.Get("channel"), r.PostForm.Get("text")
		if b := r.PostForm.Get("blocks"); b != "" {
			p.Blocks = json.RawMessage(b)
		}
	}
	if token == "" {
		apiError(w, "not_authed")
		return
	}
	if token != s.opts.Token {
		apiError(w, "invalid_auth")
		return
	}
	if f, ok := s.nextFailure(); ok {
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		if f.Status != 0 && f.Status != http.StatusOK {
			w.WriteHeader(f.Status)
			if f.Error == "" {
				return
			}
		}
		apiError(w, f.Error)
		return
	}
	if p.Channel == "" {
		apiError(w, "channel_not_found")
		return
	}
	problems := ValidateBlocks(p.Blocks)
	if p.Text == "" && len(p.Blocks) == 0 {
		problems = append(problems, "no_text")
	}
	s.record(p, problems)
	if len(problems) > 0 {
		apiError(w, "invalid_blocks")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": p.Channel, "ts": "1775000000.000100"})
}

func apiError(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": code})
}

// ValidateBlocks checks the Block Kit rules Slack enforces on the blocks a
// notifier sends: at most 50 blocks, each with a type; text objects of type
// plain_text or mrkdwn with non-empty text; header text plain_text of at
// most 150 characters; section text at most 3000; buttons with plain_text
// of at most 75 characters and an absolute http(s) URL of at most 3000.
func ValidateBlocks(raw json.RawMessage) []string {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var blocks []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return []string{fmt.Sprintf("blocks: not an array of objects: %v", err)}
	}
	var ps []string
	if len(blocks) > 50 {
		ps = append(ps, fmt.Sprintf("blocks: %d blocks, the limit is 50", len(blocks)))
	}
	for i, b := range blocks {
		path := fmt.Sprintf("blocks[%d]", i)
		var typ string
		_ = json.Unmarshal(b["type"], &typ)
		switch typ {
		case "":
			ps = append(ps, path+": no type")
		case "header":
			ps = append(ps, checkText(path+".text", b["text"], 150, true)...)
		case "section":
			ps = append(ps, checkText(path+".text", b["text"], 3000, false)...)
		case "context":
			var els []json.RawMessage
			_ = json.Unmarshal(b["elements"], &els)
			for j, e := range els {
				ps = append(ps, checkText(fmt.Sprintf("%s.elements[%d]", path, j), e, 3000, false)...)
			}
		case "actions":
			var els []map[string]json.RawMessage
			if err := json.Unmarshal(b["elements"], &els); err != nil || len(els) == 0 {
				ps = append(ps, path+".elements: missing")
			}
			for j, e := range els {
				ep := fmt.Sprintf("%s.elements[%d]", path, j)
				var et, u string
				_ = json.Unmarshal(e["type"], &et)
				if et != "button" {
					ps = append(ps, ep+": type "+et+" is not supported here")
					continue
				}
				ps = append(ps, checkText(ep+".text", e["text"], 75, true)...)
				if e["url"] != nil {
					_ = json.Unmarshal(e["url"], &u)
					pu, err := url.Parse(u)
					if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || utf8.RuneCountInString(u) > 3000 {
						ps = append(ps, ep+".url: not an http(s) URL of at most 3000 characters")
					}
				}
			}
		case "divider":
		default:
			ps = append(ps, path+": unknown type "+typ)
		}
	}
	return ps
}

func checkText(path string, raw json.RawMessage, max int, plainOnly bool) []string {
	if raw == nil {
		return []string{path + ": missing"}
	}
	var t struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return []string{path + ": not a text object"}
	}
	var ps []string
	switch {
	case t.Type != "plain_text" && t.Type != "mrkdwn":
		ps = append(ps, fmt.Sprintf("%s.type: %q is not plain_text or mrkdwn", path, t.Type))
	case plainOnly && t.Type != "plain_text":
		ps = append(ps, path+".type: must be plain_text")
	}
	if t.Text == "" {
		ps = append(ps, path+".text: empty")
	}
	if n := utf8.RuneCountInString(t.Text); n > max {
		ps = append(ps, fmt.Sprintf("%s.text: %d characters, the limit is %d", path, n, max))
	}
	return ps
}
