package calendar

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/japanese"
)

func TestImportCSVCabinetOfficeFile(t *testing.T) {
	name, raw := cabinetOfficeCSV(t)
	res, err := ImportCSV(name, raw, ImportOptions{})
	require.NoError(t, err)
	require.Len(t, res.Days, 1067)
	require.Equal(t, ImportedDay{Date: d("1955-01-01"), Name: "元日", Line: 2}, res.Days[0])
	require.Equal(t, "2027-11-23", res.Days[len(res.Days)-1].Date.String())

	res, err = ImportCSV(name, raw, ImportOptions{From: d("2026-01-01"), To: d("2026-12-31")})
	require.NoError(t, err)
	require.Len(t, res.Days, 18)
}

func TestImportCSV(t *testing.T) {
	sjis, err := japanese.ShiftJIS.NewEncoder().String("日付,名前\r\n2026/4/1,棚卸\r\n")
	require.NoError(t, err)
	tests := []struct {
		name string
		in   string
		want []ImportedDay
	}{
		{"no header, iso dates", "2026-04-01,stocktaking\n2026-03-31,closing\n",
			[]ImportedDay{{d("2026-03-31"), "closing", 2}, {d("2026-04-01"), "stocktaking", 1}}},
		{"header, slashes, CRLF, BOM", "\xef\xbb\xbfdate,name\r\n2026/1/2,\"New, Year\"\r\n\r\n2026/12/31,year end\r\n",
			[]ImportedDay{{d("2026-01-02"), "New, Year", 2}, {d("2026-12-31"), "year end", 4}}},
		{"date only", "2026-05-01\n", []ImportedDay{{d("2026-05-01"), "", 1}}},
		{"shift_jis", sjis, []ImportedDay{{d("2026-04-01"), "棚卸", 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ImportCSV("in.csv", []byte(tt.in), ImportOptions{})
			require.NoError(t, err)
			require.Equal(t, tt.want, res.Days)
		})
	}
}

func TestImportCSVBadRows(t *testing.T) {
	in := "date,name\n2026-04-01,ok\n2026-02-30,no such day\n2026/13/1,bad month\n2026-04-01,again\n2026-05-01,a,b\n2026-06-01,fine\n2026-04-01,ok\n"
	_, err := ImportCSV("in.csv", []byte(in), ImportOptions{})
	require.True(t, errors.Is(err, fault.ErrInvalid))
	ps, ok := fault.AsProblems(err)
	require.True(t, ok)
	want := []string{
		`in.csv:3: invalid date "2026-02-30": no such day`,
		`in.csv:4: invalid date "2026/13/1": no such day`,
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	require.Equal(t, want, got)

	res, err := ImportCSV("in.csv", []byte(in), ImportOptions{SkipBad: true})
	require.NoError(t, err)
	require.Equal(t, []ImportedDay{{d("2026-04-01"), "ok / again", 2}, {d("2026-05-01"), "a", 6}, {d("2026-06-01"), "fine", 7}}, res.Days)
	require.Len(t, res.Skipped, 2)

	_, err = ImportCSV("bin.csv", []byte{0xff, 0xfe, 0x00, 0x81}, ImportOptions{})
	require.ErrorIs(t, err, ErrInvalid)
}

const sampleICS = "BEGIN:VCALENDAR\r\n" +
	"VERSION:2.0\r\n" +
	"PRODID:-//test//EN\r\n" +
	"BEGIN:VEVENT\r\n" +
	"UID:1\r\n" +
	"DTSTAMP:20260101T000000Z\r\n" +
	"DTSTART;VALUE=DATE:20260813\r\n" +
	"DTEND;VALUE=DATE:20260816\r\n" +
	"SUMMARY:Obon\r\n" +
	"END:VEVENT\r\n" +
	"BEGIN:VEVENT\r\n" +
	"UID:2\r\n" +
	"DTSTAMP:20260101T000000Z\r\n" +
	"DTSTART;VALUE=DATE:20241231\r\n" +
	"RRULE:FREQ=YEARLY\r\n" +
	"EXDATE;VALUE=DATE:20261231,20251231\r\n" +
	"SUMMARY:Year end\\, office closed\r\n" +
	"END:VEVENT\r\n" +
	"BEGIN:VEVENT\r\n" +
	"UID:3\r\n" +
	"DTSTAMP:20260101T000000Z\r\n" +
	"DTSTART:20260301T090000Z\r\n" +
	"SUMMARY:Meeting\r\n" +
	"END:VEVENT\r\n" +
	"BEGIN:VEVENT\r\n" +
	"UID:4\r\n" +
	"DTSTAMP:20260101T000000Z\r\n" +
	"DTSTART;VALUE=DATE:20260401\r\n" +
	"STATUS:CANCELLED\r\n" +
	"SUMMARY:Cancelled\r\n" +
	"END:VEVENT\r\n" +
	"END:VCALENDAR\r\n"

func TestImportICS(t *testing.T) {
	_, err := ImportICS("in.ics", []byte(sampleICS), ImportOptions{From: d("2024-01-01"), To: d("2028-12-31")})
	ps, ok := fault.AsProblems(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, `in.ics:19: UID "3": DTSTART "20260301T090000Z" is a time of day and there is no DTEND or DURATION: the event covers no whole day`, ps[0].String())

	res, err := ImportICS("in.ics", []byte(sampleICS), ImportOptions{SkipBad: true, From: d("2024-01-01"), To: d("2028-12-31")})
	require.NoError(t, err)
	var got []string
	for _, x := range res.Days {
		got = append(got, x.Date.String()+" "+x.Name)
	}
	require.Equal(t, []string{
		"2024-12-31 Year end, office closed",
		"2026-08-13 Obon", "2026-08-14 Obon", "2026-08-15 Obon",
		"2027-12-31 Year end, office closed",
		"2028-12-31 Year end, office closed",
	}, got)
	require.Equal(t, 4, res.Days[1].Line)
}

func TestExportRoundTrip(t *testing.T) {
	c := companyCalendar(t)
	from, to := d("2026-01-01"), d("2026-12-31")
	ics := c.ExportICS(from, to, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	for _, line := range strings.Split(strings.TrimSuffix(string(ics), "\r\n"), "\r\n") {
		require.LessOrEqual(t, len(line), 75, line)
		require.NotContains(t, line, "\n")
	}
	require.True(t, bytes.HasPrefix(ics, []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")))
	res, err := ImportICS("out.ics", ics, ImportOptions{})
	require.NoError(t, err)
	closed := c.ClosedDays(from, to)
	require.Len(t, res.Days, len(closed))
	require.Equal(t, 123, len(closed))
	for i, s := range closed {
		require.Equal(t, s.Date, res.Days[i].Date)
		require.Equal(t, ExportName(s), res.Days[i].Name)
	}

	csvOut := c.ExportCSV(from, to)
	require.True(t, bytes.HasPrefix(csvOut, []byte("date,reason\r\n2026-01-01,year-end closure\r\n")))
	res2, err := ImportCSV("out.csv", csvOut, ImportOptions{})
	require.NoError(t, err)
	require.Equal(t, len(closed), len(res2.Days))
}

func TestFoldingLongUTF8(t *testing.T) {
	var b bytes.Buffer
	writeFolded(&b, "SUMMARY:"+strings.Repeat("祝日", 40))
	lines := strings.Split(strings.TrimSuffix(b.String(), "\r\n"), "\r\n ")
	require.Greater(t, len(lines), 2)
	joined := strings.Join(lines, "")
	require.Equal(t, "SUMMARY:"+strings.Repeat("祝日", 40), joined)
	for _, l := range strings.Split(b.String(), "\r\n") {
		require.LessOrEqual(t, len(l), 75)
	}
}

func TestDiffAndApplyImport(t *testing.T) {
	def := Definition{Name: "co", TimeZone: "Asia/Tokyo", HolidaySets: []string{"jp"}, ClosedWeekdays: []Weekday{6, 0},
		Overrides: []OverrideDef{{Date: d("2026-08-14"), Open: true, Note: "month-end batch"}, {Date: d("2026-08-13"), Note: "Obon"}}}
	before, err := Build(def, nil)
	require.NoError(t, err)
	res, err := ImportICS("in.ics", []byte(sampleICS), ImportOptions{SkipBad: true, From: d("2026-01-01"), To: d("2026-12-31")})
	require.NoError(t, err)
	next, conflicts := ApplyImport(def, res.Days)
	require.Len(t, conflicts, 1)
	require.Equal(t, `2026-08-14 (line 4, "Obon"): kept the existing open override "month-end batch"`, conflicts[0].String())
	require.Len(t, def.Overrides, 2, "input left unchanged")
	require.Equal(t, []OverrideDef{
		{Date: d("2026-08-13"), Note: "Obon"},
		{Date: d("2026-08-14"), Open: true, Note: "month-end batch"},
		{Date: d("2026-08-15"), Note: "Obon"},
	}, next.Overrides)
	after, err := Build(next, nil)
	require.NoError(t, err)
	changes := Diff(before, after, d("2026-01-01"), d("2026-12-31"))
	require.Equal(t, []DayChange{{Date: d("2026-08-15"), WasOpen: false, NowOpen: false,
		WasReason: "closed: Saturday", NowReason: "closed: override 'Obon'", ReasonOnly: true}}, changes)

	def2 := def
	def2.Overrides = nil
	b2, err := Build(def2, nil)
	require.NoError(t, err)
	changes = Diff(b2, before, d("2026-08-01"), d("2026-08-31"))
	require.Len(t, changes, 2)
	require.Equal(t, DayChange{Date: d("2026-08-13"), WasOpen: true, NowOpen: false, WasReason: "open: Thursday", NowReason: "closed: override 'Obon'"}, changes[0])
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }
