package alert

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

//go:embed templates/*.tmpl
var defaultTemplateFS embed.FS

// Template names, used in Templates, in error paths and as file names of
// the embedded defaults (templates/<name>.tmpl).
const (
	TemplateSubject = "subject"
	TemplateText    = "text"
	TemplateHTML    = "html"
	TemplateSlack   = "slack"
)

// Limits of the rendered output.
const (
	// SubjectMaxRunes caps the subject line; longer subjects are cut with "…".
	SubjectMaxRunes = 250
	// SlackSectionMaxRunes is Slack's limit for a section block's text.
	SlackSectionMaxRunes = 3000
	// SlackHeaderMaxRunes is Slack's limit for a header block's text.
	SlackHeaderMaxRunes = 150
	// SlackMaxBlocks is Slack's limit of blocks in one message.
	SlackMaxBlocks = 50
)

// Templates holds the template text of each rendering. An empty field means
// the embedded default. Subject, Text and Slack are text/template; HTML is
// html/template, so every value it prints is escaped for its context.
// Use ParseTemplates to validate user-edited text once; Render parses
// unparsed Templates itself.
type Templates struct {
	Subject string `json:"subject,omitempty"`
	Text    string `json:"text,omitempty"`
	HTML    string `json:"html,omitempty"`
	Slack   string `json:"slack,omitempty"`

	parsed *parsedTemplates
}

type parsedTemplates struct {
	subject, text, slack *template.Template
	html                 *htmltemplate.Template
}

// DefaultTemplates returns the embedded default templates, parsed.
func DefaultTemplates() Templates {
	t, err := ParseTemplates(Templates{})
	if err != nil {
		// The defaults are embedded and covered by tests; should they ever
		// fail, Render parses again and returns the error to its caller.
		return Templates{}
	}
	return t
}

// DefaultTemplateText returns the embedded default text of the named
// template (TemplateSubject, TemplateText, TemplateHTML or TemplateSlack),
// for showing in an editor.
func DefaultTemplateText(name string) (string, error) {
	b, err := defaultTemplateFS.ReadFile("templates/" + name + ".tmpl")
	if err != nil {
		return "", fmt.Errorf("default template %q: %w", name, fault.ErrNotFound)
	}
	return string(b), nil
}

// ParseTemplates parses and checks t: every template must parse, and must
// execute without error against a sample single event and a sample group.
// The returned Templates carries the parsed form. A failure is a
// fault.Problems whose paths name the template and line, e.g.
// `html:12:5: executing "html" at <.Nope>: can't evaluate field Nope`.
func ParseTemplates(t Templates) (Templates, error) {
	var ps fault.Problems
	src := map[string]string{}
	for _, f := range []struct {
		name string
		text string
	}{{TemplateSubject, t.Subject}, {TemplateText, t.Text}, {TemplateHTML, t.HTML}, {TemplateSlack, t.Slack}} {
		if strings.TrimSpace(f.text) == "" {
			d, err := DefaultTemplateText(f.name)
			if err != nil {
				ps.Add(f.name, "%v", err)
				continue
			}
			src[f.name] = d
		} else {
			src[f.name] = f.text
		}
	}
	p := &parsedTemplates{}
	var err error
	if p.subject, err = template.New(TemplateSubject).Funcs(textFuncs).Parse(src[TemplateSubject]); err != nil {
		ps = append(ps, templateProblem(TemplateSubject, err))
	}
	if p.text, err = template.New(TemplateText).Funcs(textFuncs).Parse(src[TemplateText]); err != nil {
		ps = append(ps, templateProblem(TemplateText, err))
	}
	if p.html, err = htmltemplate.New(TemplateHTML).Funcs(htmltemplate.FuncMap(textFuncs)).Parse(src[TemplateHTML]); err != nil {
		ps = append(ps, templateProblem(TemplateHTML, err))
	}
	if p.slack, err = template.New(TemplateSlack).Funcs(textFuncs).Parse(src[TemplateSlack]); err != nil {
		ps = append(ps, templateProblem(TemplateSlack, err))
	}
	if len(ps) > 0 {
		return Templates{}, fmt.Errorf("parse alert templates: %w", ps)
	}
	out := Templates{Subject: src[TemplateSubject], Text: src[TemplateText], HTML: src[TemplateHTML], Slack: src[TemplateSlack], parsed: p}
	for _, sample := range [][]Event{sampleEvents[:1], sampleEvents} {
		if _, err := render(p, sample); err != nil {
			var tp fault.Problems
			if errors.As(err, &tp) {
				ps = append(ps, tp...)
			} else {
				ps.Add("", "%v", err)
			}
			break
		}
	}
	if len(ps) > 0 {
		return Templates{}, fmt.Errorf("check alert templates: %w", ps)
	}
	return out, nil
}

var sampleExit = 3

var sampleEvents = []Event{
	{Kind: EventJobAbnormal, Severity: SeverityCritical, At: time.Date(2026, 4, 2, 1, 30, 0, 0, time.UTC),
		Folder: "sales", Jobnet: "nightly", Job: "extract", RunID: "run-1", BusinessDate: "2026-04-01",
		State: "ended_abnormally", ExitCode: &sampleExit, Attempt: 2, Detail: "container exited with code 3",
		LogTail: []string{"connecting", "error: timeout"}, URL: "https://koyomi.example/runs/run-1"},
	{Kind: EventJobAbnormal, Severity: SeverityCritical, At: time.Date(2026, 4, 2, 1, 31, 0, 0, time.UTC),
		Folder: "sales", Jobnet: "nightly", Job: "load", BusinessDate: "2026-04-01", State: "ended_abnormally"},
}

// templateErrRE splits "template: NAME:LINE[:COL]: MESSAGE" and the
// html/template variant "html/template:NAME:LINE:COL: MESSAGE".
var templateErrRE = regexp.MustCompile(`(?s)^(?:html/)?template: ?([^:]+):(\d+)(?::(\d+))?: (.*)$`)

func templateProblem(name string, err error) fault.Problem {
	msg := err.Error()
	if m := templateErrRE.FindStringSubmatch(msg); m != nil {
		path := name + ":" + m[2]
		if m[3] != "" {
			path += ":" + m[3]
		}
		return fault.Problem{Path: path, Message: m[4]}
	}
	msg = strings.TrimPrefix(strings.TrimPrefix(msg, "html/template:"), "template:")
	return fault.Problem{Path: name, Message: strings.TrimSpace(msg)}
}

var textFuncs = template.FuncMap{
	"inc":      func(i int) int { return i + 1 },
	"datetime": func(t time.Time) string { return t.Format("2006-01-02 15:04:05 MST") },
	"upper":    strings.ToUpper,
	"join":     strings.Join,
}

// View is the data every template receives.
type View struct {
	// Severity is the highest severity among the events.
	Severity Severity
	// SeverityLabel is the subject prefix word: CRITICAL, WARNING or INFO.
	SeverityLabel string
	// Color is a CSS colour for the severity.
	Color string
	// Summary is one line: "sales/nightly/extract ended abnormally (2026-04-01)",
	// or for a group "12 jobs ended abnormally in sales/nightly for 2026-04-01".
	Summary string
	// Subject is the rendered subject (empty while the subject itself renders).
	Subject string
	// Group is true when more than one event was folded into the message.
	Group bool
	Count int
	// URL is the first event's run page link.
	URL    string
	Events []EventView
}

// EventView is one event prepared for templates: ExitCode is "" when
// unknown, Path joins folder, jobnet and job.
type EventView struct {
	Kind          EventKind
	What          string
	Severity      Severity
	SeverityLabel string
	At            time.Time
	Folder        string
	Jobnet        string
	Job           string
	Path          string
	RunID         string
	BusinessDate  string
	State         string
	ExitCode      string
	Attempt       int
	Detail        string
	LogTail       []string
	URL           string
}

// Render renders events (one, or a group folded by the throttle) into a
// Message with Subject, Text, HTML and Slack Blocks. The Key is left for
// the caller. Times print in each event's own location.
func Render(t Templates, events []Event) (Message, error) {
	if len(events) == 0 {
		return Message{}, fmt.Errorf("render alert: no events: %w", fault.ErrInvalid)
	}
	p := t.parsed
	if p == nil {
		pt, err := ParseTemplates(t)
		if err != nil {
			return Message{}, err
		}
		p = pt.parsed
	}
	return render(p, events)
}

func render(p *parsedTemplates, events []Event) (Message, error) {
	v := newView(events, false)
	var ps fault.Problems
	exec := func(name string, fn func(*bytes.Buffer) error) string {
		var b bytes.Buffer
		if err := fn(&b); err != nil {
			ps = append(ps, templateProblem(name, err))
		}
		return b.String()
	}
	subject := exec(TemplateSubject, func(b *bytes.Buffer) error { return p.subject.Execute(b, v) })
	subject = oneLine(subject)
	if subject == "" && len(ps) == 0 {
		ps.Add(TemplateSubject, "renders an empty subject")
	}
	v.Subject = subject
	text := exec(TemplateText, func(b *bytes.Buffer) error { return p.text.Execute(b, v) })
	html := exec(TemplateHTML, func(b *bytes.Buffer) error { return p.html.Execute(b, v) })
	sv := newView(events, true)
	sv.Subject = slackEscape(subject)
	slackText := exec(TemplateSlack, func(b *bytes.Buffer) error { return p.slack.Execute(b, sv) })
	if len(ps) > 0 {
		return Message{}, fmt.Errorf("render alert: %w", ps)
	}
	blocks, err := json.Marshal(slackBlocks(subject, slackText, v.URL))
	if err != nil {
		return Message{}, fmt.Errorf("render alert: encode slack blocks: %w", err)
	}
	return Message{
		Subject: subject,
		Text:    strings.Trim(text, "\n") + "\n",
		HTML:    html,
		Blocks:  blocks,
		Events:  events,
	}, nil
}

// newView prepares events for templates; forSlack escapes every string for
// Slack mrkdwn and keeps log lines from closing their code block.
func newView(events []Event, forSlack bool) View {
	esc := func(s string) string { return s }
	if forSlack {
		esc = func(s string) string { return neutraliseFence(slackEscape(s)) }
	}
	v := View{Group: len(events) > 1, Count: len(events)}
	sev := SeverityInfo
	for _, e := range events {
		if severityRank(e.Severity) > severityRank(sev) {
			sev = e.Severity
		}
		ev := EventView{
			Kind:          e.Kind,
			What:          esc(kindPhrase(e.Kind)),
			Severity:      e.Severity,
			SeverityLabel: severityLabel(e.Severity),
			At:            e.At,
			Folder:        esc(e.Folder),
			Jobnet:        esc(e.Jobnet),
			Job:           esc(e.Job),
			Path:          esc(eventPath(e)),
			RunID:         esc(e.RunID),
			BusinessDate:  esc(e.BusinessDate),
			State:         esc(e.State),
			Attempt:       e.Attempt,
			Detail:        esc(e.Detail),
			URL:           esc(safeURL(e.URL)),
		}
		if e.ExitCode != nil {
			ev.ExitCode = strconv.Itoa(*e.ExitCode)
		}
		for _, l := range e.LogTail {
			ev.LogTail = append(ev.LogTail, esc(l))
		}
		if forSlack {
			ev.URL = strings.ReplaceAll(ev.URL, "|", "%7C")
		}
		v.Events = append(v.Events, ev)
	}
	v.Severity = sev
	v.SeverityLabel = severityLabel(sev)
	v.Color = severityColor(sev)
	v.Summary = esc(summary(events))
	v.URL = v.Events[0].URL
	return v
}

func severityRank(s Severity) int {
	switch s {
	case SeverityCritical:
		return 3
	case SeverityWarning:
		return 2
	case SeverityInfo:
		return 1
	}
	return 0
}

func severityLabel(s Severity) string {
	switch s {
	case SeverityCritical:
		return "CRITICAL"
	case SeverityWarning:
		return "WARNING"
	default:
		return "INFO"
	}
}

func severityColor(s Severity) string {
	switch s {
	case SeverityCritical:
		return "#c62828"
	case SeverityWarning:
		return "#ef6c00"
	default:
		return "#1565c0"
	}
}

// kindPhrase returns the verb phrase of a kind: "ended abnormally".
func kindPhrase(k EventKind) string {
	switch k {
	case EventJobAbnormal, EventGenerationAbnormal:
		return "ended abnormally"
	case EventJobWarning, EventGenerationWarning:
		return "ended with warning"
	case EventGenerationNormal:
		return "ended normally"
	case EventJobFailedToStart:
		return "failed to start"
	case EventJobRetry:
		return "is being retried"
	case EventStartDelay:
		return "did not start in time"
	case EventEndDelay:
		return "did not end in time"
	case EventDispatchError:
		return "could not be dispatched"
	case EventDeadlineAtRisk:
		return "is predicted to miss its deadline"
	case EventDeadlineMissed:
		return "missed its deadline"
	case EventLeaderChange:
		return "scheduler leader changed"
	case EventTest:
		return "test alert"
	}
	if k == "" {
		return "alert"
	}
	return string(k)
}

func eventPath(e Event) string {
	var parts []string
	for _, s := range []string{e.Folder, e.Jobnet, e.Job} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "/")
}

// summary is the one-line description of the events.
func summary(events []Event) string {
	e := events[0]
	if len(events) == 1 {
		switch e.Kind {
		case EventLeaderChange, EventTest:
			s := kindPhrase(e.Kind)
			if e.Detail != "" {
				s += ": " + e.Detail
			}
			return s
		}
		s := eventPath(e)
		if s == "" {
			s = "koyomi"
		}
		s += " " + kindPhrase(e.Kind)
		if e.BusinessDate != "" {
			s += " (" + e.BusinessDate + ")"
		}
		return s
	}
	sameKind, sameFolder, sameJobnet, sameDate, allJobs := true, true, true, true, true
	for _, o := range events {
		sameKind = sameKind && o.Kind == e.Kind
		sameFolder = sameFolder && o.Folder == e.Folder
		sameJobnet = sameJobnet && o.Jobnet == e.Jobnet
		sameDate = sameDate && o.BusinessDate == e.BusinessDate
		allJobs = allJobs && o.Job != ""
	}
	noun := "generations"
	if allJobs {
		noun = "jobs"
	}
	var s string
	if sameKind {
		s = fmt.Sprintf("%d %s %s", len(events), noun, kindPhrase(e.Kind))
	} else {
		s = fmt.Sprintf("%d alerts", len(events))
	}
	switch {
	case sameFolder && sameJobnet && e.Folder != "" && e.Jobnet != "":
		s += " in " + e.Folder + "/" + e.Jobnet
	case sameFolder && e.Folder != "":
		s += " in " + e.Folder
	case sameFolder && sameJobnet && e.Jobnet != "":
		s += " in " + e.Jobnet
	}
	if sameDate && e.BusinessDate != "" {
		s += " for " + e.BusinessDate
	}
	return s
}

// oneLine folds all whitespace runs (newlines included) into single spaces
// and caps the length, so a subject can never inject header lines.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return truncateRunes(s, SubjectMaxRunes)
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackEscape escapes the three characters Slack's mrkdwn treats as
// control characters, so event text cannot form links or mentions
// (<!channel>, <@U123>).
func slackEscape(s string) string { return slackEscaper.Replace(s) }

// safeURL returns u when it is an absolute http or https URL, else "":
// a run link never carries another scheme (javascript:, data:).
func safeURL(u string) string {
	l := strings.ToLower(strings.TrimSpace(u))
	if strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") {
		return strings.TrimSpace(u)
	}
	return ""
}

// neutraliseFence breaks runs of backticks with a zero-width space so a log
// line cannot close the code block it is printed in.
func neutraliseFence(s string) string {
	return strings.ReplaceAll(s, "``", "`\u200b`")
}

// Block is the subset of a Slack Block Kit block Render produces.
type Block struct {
	Type     string      `json:"type"`
	Text     *TextObject `json:"text,omitempty"`
	Elements []Element   `json:"elements,omitempty"`
}

// TextObject is a Slack text object (type plain_text or mrkdwn).
type TextObject struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

// Element is a Slack block element; Render uses link buttons and context
// text.
type Element struct {
	Type string      `json:"type"`
	Text *TextObject `json:"text,omitempty"`
	URL  string      `json:"url,omitempty"`
	// ActionID identifies the button.
	ActionID string `json:"action_id,omitempty"`
}

// slackBlocks turns the rendered mrkdwn into blocks: a header with the
// subject, sections of at most SlackSectionMaxRunes (split at paragraph or
// line boundaries, code fences closed and reopened across a split) and a
// link button to the run page. At most SlackMaxBlocks blocks are produced.
func slackBlocks(subject, mrkdwn, url string) []Block {
	blocks := []Block{{Type: "header", Text: &TextObject{Type: "plain_text", Text: truncateRunes(subject, SlackHeaderMaxRunes), Emoji: true}}}
	chunks := splitMrkdwn(strings.Trim(mrkdwn, "\n"), SlackSectionMaxRunes)
	room := SlackMaxBlocks - 1
	if url != "" {
		room--
	}
	if len(chunks) > room {
		dropped := len(chunks) - room + 1
		chunks = append(chunks[:room-1], fmt.Sprintf("_… %d more sections not shown; see the run page._", dropped))
	}
	for _, c := range chunks {
		blocks = append(blocks, Block{Type: "section", Text: &TextObject{Type: "mrkdwn", Text: c}})
	}
	if url != "" {
		// The mrkdwn view escaped the URL; a button URL is plain.
		plain := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&", "%7C", "|").Replace(url)
		if utf8.RuneCountInString(plain) <= 3000 {
			blocks = append(blocks, Block{Type: "actions", Elements: []Element{{
				Type: "button", Text: &TextObject{Type: "plain_text", Text: "Open the run"}, URL: plain, ActionID: "open_run",
			}}})
		}
	}
	return blocks
}

// splitMrkdwn splits s into chunks of at most max runes at line ends
// (lines longer than a chunk are cut); a chunk that ends inside a ```
// block gets a closing fence and the next chunk reopens it.
func splitMrkdwn(s string, max int) []string {
	const fence = "```"
	limit := max - 2*(len(fence)+1) // room for a reopening and a closing fence
	var (
		chunks     []string
		cur        []string
		curRunes   int
		inFence    bool // state after the last line of cur
		startFence bool // cur continues a fenced block
	)
	flush := func() {
		text := strings.Trim(strings.Join(cur, "\n"), "\n")
		if startFence {
			text = fence + "\n" + text
		}
		if inFence {
			text += "\n" + fence
		}
		if strings.TrimSpace(strings.ReplaceAll(text, fence, "")) != "" {
			chunks = append(chunks, text)
		}
		cur, curRunes, startFence = cur[:0], 0, inFence
	}
	add := func(line string) {
		n := utf8.RuneCountInString(line) + 1
		if curRunes+n > limit {
			flush()
		}
		cur = append(cur, line)
		curRunes += n
	}
	for _, line := range strings.Split(s, "\n") {
		for utf8.RuneCountInString(line) > limit-1 {
			r := []rune(line)
			add(string(r[:limit-1]))
			line = string(r[limit-1:])
		}
		add(line)
		if strings.Count(line, fence)%2 == 1 {
			inFence = !inFence
		}
	}
	flush()
	if len(chunks) == 0 {
		chunks = []string{" "}
	}
	return chunks
}
