package calendar

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/japanese"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// cabinetOfficeCSV returns the original Shift_JIS file when the shared copy
// is present, else the embedded UTF-8 copy.
func cabinetOfficeCSV(t *testing.T) (string, []byte) {
	t.Helper()
	const shared = "../../../shared/data/syukujitsu.csv"
	if b, err := os.ReadFile(shared); err == nil {
		return shared, b
	}
	return "calendars/jp.csv", bytesOfEmbedded()
}

func TestJPMatchesCabinetOfficeCSV(t *testing.T) {
	name, raw := cabinetOfficeCSV(t)
	text := raw
	if bytes.Contains(raw, []byte("\r\n")) { // the original: Shift_JIS, CRLF
		var err error
		text, err = japanese.ShiftJIS.NewDecoder().Bytes(raw)
		require.NoError(t, err)
	}
	want := map[int][]Holiday{}
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(string(text), "\r\n", "\n")), "\n")
	require.Equal(t, "国民の祝日・休日月日,国民の祝日・休日名称", lines[0])
	for i, l := range lines[1:] {
		ds, n, ok := strings.Cut(l, ",")
		require.True(t, ok, "%s:%d", name, i+2)
		var y, m, dd int
		_, err := fmt.Sscanf(ds, "%d/%d/%d", &y, &m, &dd)
		require.NoError(t, err, "%s:%d", name, i+2)
		want[y] = append(want[y], Holiday{Date: NewDate(y, monthOf(m), dd), Name: n})
	}
	require.Len(t, lines, 1068)
	require.NoError(t, CheckBuiltins())
	jp, ok := LookupSet("jp")
	require.True(t, ok)
	rows := 0
	for y := 1955; y <= 2027; y++ {
		got := jp.Holidays(y)
		require.Equal(t, want[y], got, "year %d", y)
		rows += len(got)
	}
	require.Equal(t, 1067, rows)
	require.Empty(t, jp.Holidays(1954))
}

func TestJPRulesAgreeWithCSV(t *testing.T) {
	jp, _ := LookupSet("jp")
	for y := 2022; y <= 2027; y++ {
		require.Equal(t, jp.Holidays(y), JapanRuleHolidays(y), "year %d", y)
	}
}

func TestJPRulesAfterData(t *testing.T) {
	jp, _ := LookupSet("jp")
	names := func(y int) map[string]string {
		out := map[string]string{}
		for _, h := range jp.Holidays(y) {
			out[h.Date.String()] = h.Name
		}
		return out
	}
	tests := []struct{ date, name string }{
		{"2028-01-10", "成人の日"},
		{"2028-03-20", "春分の日"},
		{"2029-04-30", "休日"}, // Showa Day on a Sunday
		{"2030-05-06", "休日"}, // 5/5 Sunday → after 5/4? 5/6 Monday
		{"2032-09-21", "休日"}, // between 敬老の日 9/20 and 秋分の日 9/22
		{"2033-09-23", "秋分の日"},
		{"2028-02-23", "天皇誕生日"},
	}
	for _, tt := range tests {
		y := MustParseDate(tt.date).Year()
		require.Equal(t, tt.name, names(y)[tt.date], tt.date)
	}
	require.Len(t, jp.Holidays(2028), 16) // no holiday falls on a Sunday in 2028
}

func TestRuleSetsKnownDates(t *testing.T) {
	tests := []struct{ set, date, name string }{
		{"us", "2026-07-03", "Independence Day (observed)"},
		{"us", "2026-07-04", "Independence Day"},
		{"us", "2021-12-31", "New Year's Day (observed)"}, // observed in the year before
		{"us", "2026-11-26", "Thanksgiving Day"},
		{"gb", "2026-12-28", "Boxing Day (observed)"},
		{"gb", "2026-04-03", "Good Friday"},
		{"de", "2026-10-03", "German Unity Day"},
		{"fr", "2026-07-14", "Bastille Day"},
		{"au", "2026-01-26", "Australia Day"},
		{"ca", "2026-07-01", "Canada Day"},
	}
	for _, tt := range tests {
		s, ok := LookupSet(tt.set)
		require.True(t, ok, tt.set)
		dd := MustParseDate(tt.date)
		found := ""
		for _, h := range s.Holidays(dd.Year()) {
			require.Equal(t, dd.Year(), h.Date.Year())
			if h.Date == dd {
				found = h.Name
			}
		}
		require.Equal(t, tt.name, found, "%s %s", tt.set, tt.date)
	}
	_, ok := LookupSet("xx")
	require.False(t, ok)
	infos := BuiltinSetInfos()
	require.Len(t, infos, 7)
	require.Equal(t, "au", infos[0].ID)
	require.Equal(t, "jp", infos[5].ID)
	require.Contains(t, infos[5].Source, "2027") // where the data ends
}

func TestBuiltinSetsConcurrent(t *testing.T) {
	// The rules call into rickar/cal, whose vernal equinox rule writes shared state.
	var wg sync.WaitGroup
	results := make([][]Holiday, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = JapanRuleHolidays(2040 + i%2)
		}()
	}
	wg.Wait()
	for i := 2; i < len(results); i++ {
		require.Equal(t, results[i%2], results[i])
	}
}

func TestGoldenSets(t *testing.T) {
	for _, info := range BuiltinSetInfos() {
		for _, y := range []int{2026, 2030} {
			s, _ := LookupSet(info.ID)
			var b strings.Builder
			for _, h := range s.Holidays(y) {
				fmt.Fprintf(&b, "%s %s %s\n", h.Date, h.Date.Weekday().String()[:3], h.Name)
			}
			golden(t, fmt.Sprintf("%s-%d.txt", info.ID, y), b.String())
		}
	}
}

func TestGoldenCompanyCalendar(t *testing.T) {
	c := companyCalendar(t)
	var b strings.Builder
	for dd := NewDate(2026, 1, 1); dd < NewDate(2027, 1, 1); dd++ {
		s := c.Status(dd)
		state := "open  "
		if !s.Open {
			state = "closed"
		}
		fmt.Fprintf(&b, "%s %s %s %s\n", dd, dd.Weekday().String()[:3], state, s.Reason)
	}
	golden(t, "jp-company-2026.txt", b.String())
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -run Golden -update to create %s", path)
	require.Equal(t, string(want), got, path)
}
