package alert

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var jst = time.FixedZone("JST", 9*60*60)

func intp(i int) *int { return &i }

func singleEvent() Event {
	return Event{
		Kind: EventJobAbnormal, Severity: SeverityCritical,
		At:     time.Date(2026, 4, 2, 3, 15, 0, 0, jst),
		Folder: "sales", Jobnet: "nightly", Job: "売上集計", RunID: "gen-20260401-1",
		BusinessDate: "2026-04-01", State: "ended_abnormally", ExitCode: intp(12), Attempt: 3,
		Detail:  "コンテナが異常終了しました (exit 12)",
		LogTail: []string{"loading 売上.csv", "ERROR: duplicate key", "exit status 12"},
		URL:     "https://koyomi.example/runs/gen-20260401-1?job=売上集計&tab=log",
	}
}

func groupEvents() []Event {
	var out []Event
	for i, job := range []string{"extract", "transform", "load"} {
		out = append(out, Event{
			Kind: EventJobAbnormal, Severity: SeverityWarning,
			At:     time.Date(2026, 4, 2, 2, i*5, 0, 0, jst),
			Folder: "sales", Jobnet: "nightly", Job: job,
			BusinessDate: "2026-04-01", State: "ended_abnormally", ExitCode: intp(i + 1),
			URL: "https://koyomi.example/runs/gen-20260401-1",
		})
	}
	out[1].Severity = SeverityCritical
	return out
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create %s", path)
	require.Equal(t, string(want), got, "%s differs; run go test -update after checking the change", path)
}

func renderGolden(msg Message) string {
	var blocks any
	_ = json.Unmarshal(msg.Blocks, &blocks)
	var pretty strings.Builder
	enc := json.NewEncoder(&pretty)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(blocks)
	return "== subject\n" + msg.Subject + "\n== text\n" + msg.Text + "== html\n" + msg.HTML + "== blocks\n" + pretty.String()
}

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		name   string
		events []Event
	}{
		{"single", []Event{singleEvent()}},
		{"group", groupEvents()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := Render(DefaultTemplates(), tt.events)
			require.NoError(t, err)
			golden(t, tt.name, renderGolden(msg))
		})
	}
}

func TestRenderSingle(t *testing.T) {
	msg, err := Render(Templates{}, []Event{singleEvent()})
	require.NoError(t, err)
	require.Equal(t, "[CRITICAL] sales/nightly/売上集計 ended abnormally (2026-04-01)", msg.Subject)
	for _, want := range []string{"Folder:        sales", "Jobnet:        nightly", "Job:           売上集計",
		"Business date: 2026-04-01", "State:         ended_abnormally", "Exit code:     12", "Attempt:       3",
		"Detail:        コンテナが異常終了しました (exit 12)", "    ERROR: duplicate key",
		"Open the run: https://koyomi.example/runs/gen-20260401-1?job=売上集計&tab=log", "2026-04-02 03:15:00 JST"} {
		require.Contains(t, msg.Text, want)
	}
	require.Contains(t, msg.HTML, "<pre style=\"background: #f4f4f4; padding: 8px;\"><code>loading 売上.csv\nERROR: duplicate key\n")
	require.Contains(t, msg.HTML, `<a href="https://koyomi.example/runs/gen-20260401-1?job=%e5%a3%b2%e4%b8%8a%e9%9b%86%e8%a8%88&amp;tab=log">`)
	require.True(t, utf8.ValidString(msg.Text) && utf8.ValidString(msg.HTML))

	var blocks []Block
	require.NoError(t, json.Unmarshal(msg.Blocks, &blocks))
	require.Equal(t, "header", blocks[0].Type)
	require.Equal(t, msg.Subject, blocks[0].Text.Text)
	require.Equal(t, "section", blocks[1].Type)
	require.Contains(t, blocks[1].Text.Text, "*Last log lines:*\n```\nloading 売上.csv\nERROR: duplicate key\nexit status 12\n```")
	require.Contains(t, blocks[1].Text.Text, "<https://koyomi.example/runs/gen-20260401-1?job=売上集計&amp;tab=log|Open the run>")
	last := blocks[len(blocks)-1]
	require.Equal(t, "actions", last.Type)
	require.Equal(t, "https://koyomi.example/runs/gen-20260401-1?job=売上集計&tab=log", last.Elements[0].URL)
}

func TestRenderGroupSummary(t *testing.T) {
	events := make([]Event, 12)
	for i := range events {
		events[i] = Event{Kind: EventJobAbnormal, Severity: SeverityCritical, Folder: "sales", Jobnet: "nightly",
			Job: "j" + string(rune('a'+i)), BusinessDate: "2026-04-01"}
	}
	tests := []struct {
		name   string
		mutate func([]Event)
		want   string
	}{
		{"same jobnet and date", func([]Event) {}, "[CRITICAL] 12 jobs ended abnormally in sales/nightly for 2026-04-01"},
		{"two jobnets", func(es []Event) { es[3].Jobnet = "weekly" }, "[CRITICAL] 12 jobs ended abnormally in sales for 2026-04-01"},
		{"two dates", func(es []Event) { es[0].BusinessDate = "2026-03-31" }, "[CRITICAL] 12 jobs ended abnormally in sales/nightly"},
		{"mixed kinds", func(es []Event) { es[5].Kind = EventEndDelay }, "[CRITICAL] 12 alerts in sales/nightly for 2026-04-01"},
		{"generations", func(es []Event) {
			for i := range es {
				es[i].Job, es[i].Kind, es[i].Severity = "", EventGenerationWarning, SeverityWarning
			}
		}, "[WARNING] 12 generations ended with warning in sales/nightly for 2026-04-01"},
		{"info", func(es []Event) {
			for i := range es {
				es[i].Kind, es[i].Severity = EventGenerationNormal, SeverityInfo
			}
		}, "[INFO] 12 jobs ended normally in sales/nightly for 2026-04-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := append([]Event(nil), events...)
			tt.mutate(es)
			msg, err := Render(DefaultTemplates(), es)
			require.NoError(t, err)
			require.Equal(t, tt.want, msg.Subject)
			require.Contains(t, msg.Text, "--- 12 of 12 ---")
		})
	}
}

func TestRenderEscapesHostileEventText(t *testing.T) {
	e := singleEvent()
	e.Job = `<script>alert("x")</script>`
	e.Detail = "<img src=x onerror=alert(1)> <!channel> & ```"
	e.LogTail = []string{"```", "</code></pre><b>bold</b>"}
	e.URL = "javascript:alert(1)"
	e.Folder = "line1\r\nBcc: victim@example.com"
	msg, err := Render(DefaultTemplates(), []Event{e})
	require.NoError(t, err)

	require.NotContains(t, msg.HTML, "<script>")
	require.NotContains(t, msg.HTML, "<img")
	require.NotContains(t, msg.HTML, "<b>bold")
	require.Contains(t, msg.HTML, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;")
	require.NotContains(t, msg.HTML, "javascript:")
	require.NotContains(t, msg.Text, "Open the run")
	require.NotContains(t, msg.Subject, "\n")
	require.NotContains(t, msg.Subject, "\r")
	requireOnlyTemplateTags(t, msg.HTML)

	var blocks []Block
	require.NoError(t, json.Unmarshal(msg.Blocks, &blocks))
	section := blocks[1].Text.Text
	require.NotContains(t, section, "<!channel>")
	require.Contains(t, section, "&lt;!channel&gt; &amp;")
	require.NotContains(t, section, "<script>")
	// The only fences are the template's own pair.
	require.Equal(t, 2, strings.Count(section, "```"), section)
}

// allowedTags are the elements the default HTML template writes.
var allowedTags = map[string]bool{"html": true, "head": true, "meta": true, "title": true, "body": true, "h2": true,
	"h3": true, "table": true, "tr": true, "th": true, "td": true, "p": true, "pre": true, "code": true, "a": true, "tbody": true}

func requireOnlyTemplateTags(t testing.TB, doc string) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(doc))
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			require.True(t, allowedTags[tok.Data], "unexpected element <%s> in\n%s", tok.Data, doc)
			for _, a := range tok.Attr {
				require.False(t, strings.HasPrefix(a.Key, "on"), "event handler attribute %q", a.Key)
				if a.Key == "href" {
					require.False(t, strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:"), a.Val)
				}
			}
		}
	}
}

func TestParseTemplatesReportsNameAndLine(t *testing.T) {
	tests := []struct {
		name     string
		in       Templates
		wantPath []string
		wantMsg  string
	}{
		{"unclosed action", Templates{Text: "ok\n\n{{.Summary"}, []string{"text:3"}, "unclosed action"},
		{"unknown function", Templates{HTML: "<p>\n{{nope .Summary}}</p>"}, []string{"html:2"}, `function "nope" not defined`},
		{"unknown field", Templates{Slack: "*{{.Summary}}*\n{{range .Events}}{{.Nope}}{{end}}"}, []string{"slack:2:19"}, "can't evaluate field Nope"},
		{"empty subject", Templates{Subject: "{{if false}}x{{end}}"}, []string{"subject"}, "empty subject"},
		{"two broken", Templates{Subject: "{{", Text: "{{end}}"}, []string{"subject:1", "text:1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTemplates(tt.in)
			require.Error(t, err)
			require.ErrorIs(t, err, fault.ErrInvalid)
			ps, ok := fault.AsProblems(err)
			require.True(t, ok)
			var paths []string
			for _, p := range ps {
				paths = append(paths, p.Path)
			}
			require.Equal(t, tt.wantPath, paths, err.Error())
			require.Contains(t, err.Error(), tt.wantMsg)
		})
	}
}

func TestParseTemplatesCustom(t *testing.T) {
	tp, err := ParseTemplates(Templates{Subject: "【{{.SeverityLabel}}】{{.Summary}}", Text: "{{range .Events}}ジョブ {{.Job}} 終了コード {{.ExitCode}}\n{{end}}"})
	require.NoError(t, err)
	msg, err := Render(tp, []Event{singleEvent()})
	require.NoError(t, err)
	require.Equal(t, "【CRITICAL】sales/nightly/売上集計 ended abnormally (2026-04-01)", msg.Subject)
	require.Equal(t, "ジョブ 売上集計 終了コード 12\n", msg.Text)
	def, err := DefaultTemplateText(TemplateHTML)
	require.NoError(t, err)
	require.Equal(t, def, tp.HTML, "an empty field takes the default")

	_, err = DefaultTemplateText("pager")
	require.ErrorIs(t, err, fault.ErrNotFound)
	_, err = Render(tp, nil)
	require.ErrorIs(t, err, fault.ErrInvalid)
}

func TestSlackSplitsLongText(t *testing.T) {
	e := singleEvent()
	for i := range 400 {
		e.LogTail = append(e.LogTail, strings.Repeat("ログ", 10)+" line "+string(rune('0'+i%10)))
	}
	e.Detail = strings.Repeat("x", 7000) // one line longer than two sections
	msg, err := Render(DefaultTemplates(), []Event{e})
	require.NoError(t, err)
	var blocks []Block
	require.NoError(t, json.Unmarshal(msg.Blocks, &blocks))
	require.LessOrEqual(t, len(blocks), SlackMaxBlocks)
	require.Greater(t, len(blocks), 5)
	for i, b := range blocks {
		if b.Type != "section" {
			continue
		}
		n := utf8.RuneCountInString(b.Text.Text)
		require.LessOrEqual(t, n, SlackSectionMaxRunes, "block %d", i)
		require.Zero(t, strings.Count(b.Text.Text, "```")%2, "block %d has an unbalanced fence:\n%s", i, b.Text.Text)
	}
}

func TestSplitMrkdwnTruncatesToBlockLimit(t *testing.T) {
	long := strings.Repeat(strings.Repeat("a", 2900)+"\n", 80)
	blocks := slackBlocks("s", long, "https://x.example/r")
	require.Len(t, blocks, SlackMaxBlocks)
	require.Equal(t, "actions", blocks[SlackMaxBlocks-1].Type)
	require.Contains(t, blocks[SlackMaxBlocks-2].Text.Text, "33 more sections not shown")
}

func FuzzRender(f *testing.F) {
	f.Add("extract", "<script>alert(1)</script>", "https://k.example/r?a=1&b=2", "```\n</pre>", "売上")
	f.Add("", "", "", "", "")
	f.Add("{{.Summary}}", "&amp;<!here>", "javascript:alert(1)", "\x00\xff", "\r\nBcc: x")
	tpl := DefaultTemplates()
	f.Fuzz(func(t *testing.T, job, detail, url, logLine, folder string) {
		e := Event{Kind: EventJobAbnormal, Severity: SeverityWarning, Folder: folder, Jobnet: "n", Job: job,
			Detail: detail, URL: url, LogTail: []string{logLine}, ExitCode: intp(1)}
		msg, err := Render(tpl, []Event{e, e})
		require.NoError(t, err)
		requireOnlyTemplateTags(t, msg.HTML)
		require.NotContains(t, msg.Subject, "\n")
		var blocks []Block
		require.NoError(t, json.Unmarshal(msg.Blocks, &blocks))
		for _, b := range blocks {
			require.NotEmpty(t, b.Type)
			if b.Text != nil {
				require.Contains(t, []string{"plain_text", "mrkdwn"}, b.Text.Type)
				require.LessOrEqual(t, utf8.RuneCountInString(b.Text.Text), SlackSectionMaxRunes)
				if b.Type == "section" {
					require.NotContains(t, b.Text.Text, "<!")
				}
			}
		}
		if utf8.ValidString(job) && !strings.ContainsAny(job, "\x00\r") && strings.TrimSpace(job) == job && job != "" {
			require.Contains(t, textOf(msg.HTML), job)
		}
	})
}

func FuzzParseTemplates(f *testing.F) {
	f.Add("[{{.SeverityLabel}}] {{.Summary}}", "<p>{{.Summary}}</p>")
	f.Add("{{range .Events}}{{.Job}}{{end}}", "<a href=\"{{.URL}}\">x</a>")
	f.Add("{{", "<script>{{.Summary}}</script>")
	f.Fuzz(func(t *testing.T, subject, htmlText string) {
		tp, err := ParseTemplates(Templates{Subject: subject, HTML: htmlText})
		if err != nil {
			_, ok := fault.AsProblems(err)
			require.True(t, ok, "error is not a Problems list: %v", err)
			return
		}
		e := singleEvent()
		e.Job = "<script>x</script>"
		msg, err := Render(tp, []Event{e})
		if err != nil {
			return // data-dependent execution errors are reported, not panics
		}
		// Only the template's own text may contain the raw marker.
		require.LessOrEqual(t, strings.Count(msg.HTML, "<script>x</script>"), strings.Count(htmlText, "<script>x</script>"))
	})
}

// textOf returns the concatenated text tokens of an HTML document.
func textOf(doc string) string {
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(doc))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return b.String()
		case html.TextToken:
			b.Write(z.Text())
		}
	}
}

func BenchmarkRenderSingle(b *testing.B) {
	tpl := DefaultTemplates()
	events := []Event{singleEvent()}
	for b.Loop() {
		if _, err := Render(tpl, events); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRenderGroup12(b *testing.B) {
	tpl := DefaultTemplates()
	var events []Event
	for range 4 {
		events = append(events, groupEvents()...)
	}
	for b.Loop() {
		if _, err := Render(tpl, events); err != nil {
			b.Fatal(err)
		}
	}
}
