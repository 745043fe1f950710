package calendar

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/stretchr/testify/require"
)

// readWant reads a NAME.want file: "YYYY-MM-DD name" per line, # comments.
func readWant(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func dayLines(days []ImportedDay) []string {
	var out []string
	for _, x := range days {
		out = append(out, strings.TrimSpace(x.Date.String()+" "+x.Name))
	}
	return out
}

func importFile(t *testing.T, path string, opt ImportOptions) (ImportResult, error) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	if strings.HasSuffix(path, ".ics") {
		return ImportICS(filepath.Base(path), data, opt)
	}
	return ImportCSV(filepath.Base(path), data, opt)
}

// TestImportRealWorldFiles reads files as other programs write them and
// compares them day by day with independent lists.
func TestImportRealWorldFiles(t *testing.T) {
	span := ImportOptions{From: d("2026-01-01"), To: d("2027-12-31"), Today: d("2026-12-04")}
	with := func(f func(*ImportOptions)) ImportOptions { o := span; f(&o); return o }
	la, tokyo := mustLoc(t, "America/Los_Angeles"), mustLoc(t, "Asia/Tokyo")
	tests := []struct {
		file, want string
		opt        ImportOptions
		// skipped are the events reported as unreadable.
		skipped []string
	}{
		{file: "thunderbird-us.ics", opt: with(func(o *ImportOptions) { o.Location = mustLoc(t, "America/New_York") })},
		{file: "google-export.ics", opt: with(func(o *ImportOptions) { o.Location = tokyo }),
			skipped: []string{`google-export.ics:94: UID "5tr4e3w2q1a0s9d8f7g6h5j4k3@google.com": timed event 20260610T140000 – 20260610T153000 does not cover whole days (not midnight to midnight as written or in Asia/Tokyo)`}},
		{file: "us-opm.ics", opt: with(func(o *ImportOptions) { o.Location = mustLoc(t, "America/New_York") })},
		{file: "aws-ssm-change-calendar.ics", opt: with(func(o *ImportOptions) { o.Location = la }),
			skipped: []string{`aws-ssm-change-calendar.ics:45: UID "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f": timed event 20260612T220000Z – 20260613T060000Z does not cover whole days (not midnight to midnight as written or in America/Los_Angeles)`}},
		{file: "uk-bank-holidays.ics", opt: with(func(o *ImportOptions) { o.Location = mustLoc(t, "Europe/London") })},
		{file: "argentina.ics", opt: with(func(o *ImportOptions) { o.Location = mustLoc(t, "America/Argentina/Buenos_Aires") })},
		{file: "holidays-ja-en.csv", opt: span},
		{file: "holidays-ja-en.csv", want: "holidays-ja-en.en.want", opt: with(func(o *ImportOptions) { o.NameColumn = "EN" })},
		{file: "holidays-ja-en.csv", want: "holidays-ja-en.en.want", opt: with(func(o *ImportOptions) { o.NameColumn = "3" })},
		{file: "holidays-name-type.csv", opt: span},
	}
	for _, tt := range tests {
		t.Run(tt.file+" "+tt.opt.NameColumn, func(t *testing.T) {
			path := filepath.Join("testdata", "import", tt.file)
			want := tt.want
			if want == "" {
				want = strings.TrimSuffix(tt.file, filepath.Ext(tt.file)) + ".want"
			}
			res, err := importFile(t, path, tt.opt)
			if len(tt.skipped) > 0 {
				ps, ok := fault.AsProblems(err)
				require.True(t, ok, "a file with unreadable events fails without --skip-bad: %v", err)
				require.Equal(t, tt.skipped, problemStrings(ps))
				opt := tt.opt
				opt.SkipBad = true
				res, err = importFile(t, path, opt)
				require.NoError(t, err)
				require.Equal(t, tt.skipped, problemStrings(res.Skipped))
			}
			require.NoError(t, err)
			require.Equal(t, readWant(t, filepath.Join("testdata", "import", want)), dayLines(res.Days))
		})
	}
}

func problemStrings(ps fault.Problems) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func TestImportCabinetOfficeShiftJISMatchesJP(t *testing.T) {
	res, err := importFile(t, filepath.Join("testdata", "import", "cabinet-office-2026-2027-sjis.csv"), ImportOptions{})
	require.NoError(t, err)
	jp, _ := LookupSet("jp")
	var want []string
	for _, y := range []int{2026, 2027} {
		for _, h := range jp.Holidays(y) {
			if h.Date <= d("2027-11-23") {
				want = append(want, h.Date.String()+" "+h.Name)
			}
		}
	}
	require.Equal(t, want, dayLines(res.Days))
}

// TestImportICSDefaultRange: without --from/--to a yearly event written in
// 2010 expands from the first event to ten years after today, and the
// result says which range it used.
func TestImportICSDefaultRange(t *testing.T) {
	res, err := importFile(t, filepath.Join("testdata", "import", "thunderbird-us.ics"), ImportOptions{Today: d("2026-12-04")})
	require.NoError(t, err)
	require.True(t, res.DefaultRange)
	require.Equal(t, d("2010-01-01"), res.From)
	require.Equal(t, d("2036-12-31"), res.To)
	var xmas []string
	for _, x := range res.Days {
		if x.Name == "Christmas Day" {
			xmas = append(xmas, x.Date.String())
		}
	}
	require.Len(t, xmas, 27)
	require.Equal(t, "2036-12-25", xmas[len(xmas)-1])

	// A single event later than ten years ahead extends the default range.
	ics := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20450505\r\nSUMMARY:far\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	res, err = ImportICS("far.ics", []byte(ics), ImportOptions{Today: d("2026-12-04")})
	require.NoError(t, err)
	require.Equal(t, []string{"2045-05-05 far"}, dayLines(res.Days))
}

func TestImportICSEventForms(t *testing.T) {
	ev := func(lines ...string) string {
		return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	}
	tokyo := mustLoc(t, "Asia/Tokyo")
	tests := []struct {
		name string
		in   string
		want []string
		bad  string
	}{
		{"date without VALUE=DATE", ev("DTSTART:19970101", "SUMMARY:a"), []string{"1997-01-01 a"}, ""},
		{"DTEND equal to DTSTART", ev("DTSTART;VALUE=DATE:20260101", "DTEND;VALUE=DATE:20260101", "SUMMARY:a"), []string{"2026-01-01 a"}, ""},
		{"DTEND before DTSTART", ev("DTSTART;VALUE=DATE:20260102", "DTEND;VALUE=DATE:20260101"), nil, `x.ics:3: UID "x": DTEND 2026-01-01 is before DTSTART 2026-01-02`},
		{"duration in days", ev("DTSTART;VALUE=DATE:20260101", "DURATION:P2D", "SUMMARY:a"), []string{"2026-01-01 a", "2026-01-02 a"}, ""},
		{"floating midnight", ev("DTSTART:20260101T000000", "DTEND:20260103T000000", "SUMMARY:a"), []string{"2026-01-01 a", "2026-01-02 a"}, ""},
		{"UTC midnight as written", ev("DTSTART:20260101T000000Z", "DTEND:20260102T000000Z", "SUMMARY:a"), []string{"2026-01-01 a"}, ""},
		{"midnight in the calendar's zone", ev("DTSTART:20251231T150000Z", "DTEND:20260101T150000Z", "SUMMARY:a"), []string{"2026-01-01 a"}, ""},
		{"TZID midnight with duration", ev("DTSTART;TZID=Europe/Paris:20260101T000000", "DURATION:P1D", "SUMMARY:a"), []string{"2026-01-01 a"}, ""},
		{"EXDATE on a single event", ev("DTSTART;VALUE=DATE:20260101", "EXDATE;VALUE=DATE:20260101", "SUMMARY:a"), nil, ""},
		{"RDATE on a single event", ev("DTSTART;VALUE=DATE:20260101", "RDATE;VALUE=DATE:20260301,20260401", "RDATE:20260501", "EXDATE:20260401", "SUMMARY:a"),
			[]string{"2026-01-01 a", "2026-03-01 a", "2026-05-01 a"}, ""},
		{"UNTIL inclusive in the event's zone", ev("DTSTART;TZID=Asia/Tokyo:20260101T000000", "DTEND;TZID=Asia/Tokyo:20260102T000000", "RRULE:FREQ=YEARLY;UNTIL=20271231T150000Z", "SUMMARY:a"),
			[]string{"2026-01-01 a", "2027-01-01 a", "2028-01-01 a"}, ""},
		{"point in time", ev("DTSTART:20260101T000000Z"), nil, `x.ics:3: UID "x": DTSTART "20260101T000000Z" is a time of day and there is no DTEND or DURATION: the event covers no whole day`},
		{"unknown zone", ev("DTSTART;TZID=Tokyo Standard Time:20260101T000000", "DTEND;TZID=Tokyo Standard Time:20260102T000000"), nil, `x.ics:3: UID "x": DTSTART "20260101T000000": unknown TZID "Tokyo Standard Time"`},
		{"hourly", ev("DTSTART;VALUE=DATE:20260101", "RRULE:FREQ=HOURLY"), nil, `x.ics:3: UID "x": RRULE FREQ=HOURLY: a whole-day event recurs at most daily`},
		{"no DTSTART", ev("SUMMARY:a"), nil, `x.ics:3: UID "x": no DTSTART`},
		{"a rule that never occurs", ev("DTSTART;VALUE=DATE:20260101", "RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "SUMMARY:a"), nil,
			`x.ics:3: UID "x": RRULE "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30": no month of BYMONTH=[2] has a day BYMONTHDAY=[30], so the rule never occurs`},
		{"the 31st only in long months", ev("DTSTART;VALUE=DATE:20260101", "RRULE:FREQ=DAILY;BYMONTH=2,3;BYMONTHDAY=31;COUNT=1", "SUMMARY:a"), []string{"2026-03-31 a"}, ""},
		{"the last day counted from the end", ev("DTSTART;VALUE=DATE:20260101", "RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=-29;COUNT=1", "SUMMARY:a"), []string{"2028-02-01 a"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ImportICS("x.ics", []byte(tt.in), ImportOptions{Location: tokyo, From: d("1990-01-01"), To: d("2030-12-31"), SkipBad: true})
			require.NoError(t, err)
			require.Equal(t, tt.want, dayLines(res.Days))
			if tt.bad == "" {
				require.Empty(t, res.Skipped)
			} else {
				require.Equal(t, []string{tt.bad}, problemStrings(res.Skipped))
			}
		})
	}
}

// TestRoundTripKeepsNames: export, import, export again gives the same
// days and the same names (no "override 'override …'" growth).
func TestRoundTripKeepsNames(t *testing.T) {
	parent := Definition{Name: "group", TimeZone: "Asia/Tokyo", HolidaySets: []string{"jp"}, ClosedWeekdays: []Weekday{6, 0},
		Overrides: []OverrideDef{{Date: d("2026-12-31"), Note: "year end"}, {Date: d("2026-08-13")}}}
	child := Definition{Name: "branch", Parent: "group", Overrides: []OverrideDef{{Date: d("2026-04-01"), Note: "stocktaking "}}}
	resolve := MapResolver(map[string]Definition{"group": parent})
	c, err := Build(child, resolve)
	require.NoError(t, err)
	from, to := d("2026-01-01"), d("2026-12-31")
	stamp := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	for _, format := range []string{"ics", "csv"} {
		t.Run(format, func(t *testing.T) {
			cur := c
			var first []string
			for round := 0; round < 3; round++ {
				var res ImportResult
				if format == "ics" {
					res, err = ImportICS("out.ics", cur.ExportICS(from, to, stamp), ImportOptions{})
				} else {
					res, err = ImportCSV("out.csv", cur.ExportCSV(from, to), ImportOptions{})
				}
				require.NoError(t, err)
				got := dayLines(res.Days)
				if round == 0 {
					first = got
					require.Contains(t, got, "2026-04-01 stocktaking")
					require.Contains(t, got, "2026-12-31 year end")
					require.Contains(t, got, "2026-08-13")
					require.Contains(t, got, "2026-05-03 憲法記念日 (jp)")
					require.Contains(t, got, "2026-01-04 Sunday")
				} else {
					require.Equal(t, first, got, "round %d", round)
				}
				next, _ := ApplyImport(Definition{Name: "again", TimeZone: "Asia/Tokyo"}, res.Days)
				cur, err = Build(next, nil)
				require.NoError(t, err)
			}
		})
	}
}
