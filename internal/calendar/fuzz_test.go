package calendar

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026-04-01", "2024-02-29", "2023-02-29", "0000-01-01", "9999-12-31", "2026-4-1", "abcd-ef-gh", "+026-04-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			return
		}
		if d.String() != s {
			t.Fatalf("ParseDate(%q) = %s, which formats differently", s, d)
		}
		y, m, dd := d.Civil()
		if !ValidDate(y, m, dd) {
			t.Fatalf("ParseDate(%q) gave invalid %d-%d-%d", s, y, m, dd)
		}
		if f, err := ParseFlexibleDate(s); err != nil || f != d {
			t.Fatalf("ParseFlexibleDate(%q) = %v, %v; want %s", s, f, err, d)
		}
	})
}

func FuzzParseClockTime(f *testing.F) {
	for _, s := range []string{"00:00", "05:00", "47:59", "48:00", "5:00", "24:60", "-1:00", "1:5", "+1:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseClockTime(s)
		if err != nil {
			return
		}
		if c < 0 || c > MaxClockTime {
			t.Fatalf("ParseClockTime(%q) = %d out of range", s, c)
		}
		again, err := ParseClockTime(c.String())
		if err != nil || again != c {
			t.Fatalf("round trip of %q: %v, %v", s, again, err)
		}
		if c.Duration() != time.Duration(c)*time.Minute {
			t.Fatal("duration mismatch")
		}
	})
}

func checkImported(t *testing.T, res ImportResult) {
	t.Helper()
	for i, d := range res.Days {
		y, m, dd := d.Date.Civil()
		if !ValidDate(y, m, dd) {
			t.Fatalf("invalid date %v", d)
		}
		if i > 0 && res.Days[i-1].Date >= d.Date {
			t.Fatalf("days not strictly ordered at %d: %v, %v", i, res.Days[i-1], d)
		}
	}
}

func FuzzImportCSV(f *testing.F) {
	f.Add([]byte("国民の祝日・休日月日,国民の祝日・休日名称\r\n2026/1/1,元日\r\n"))
	f.Add([]byte("2026-04-01,stocktaking\n2026-02-30,x\n"))
	f.Add([]byte("\"a\"b,c\n2026/1/2,\"q\"\"x\"\n"))
	f.Add([]byte{0x93, 0xfa, 0x95, 0x74, 0x0d, 0x0a})
	addTestdata(f, ".csv")
	f.Fuzz(func(t *testing.T, data []byte) {
		strict, err := ImportCSV("f.csv", data, ImportOptions{})
		if err == nil {
			checkImported(t, strict)
		}
		lax, laxErr := ImportCSV("f.csv", data, ImportOptions{SkipBad: true})
		if laxErr == nil {
			checkImported(t, lax)
			if err == nil && len(lax.Days) != len(strict.Days) {
				t.Fatalf("SkipBad changed a clean file: %d vs %d days", len(lax.Days), len(strict.Days))
			}
		}
	})
}

func FuzzImportICS(f *testing.F) {
	f.Add([]byte(sampleICS))
	f.Add([]byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nEND:VCALENDAR\r\n"))
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260101\r\nRRULE:FREQ=DAILY;COUNT=3\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	addTestdata(f, ".ics")
	la, _ := time.LoadLocation("America/Los_Angeles")
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ImportICS("f.ics", data, ImportOptions{SkipBad: true, From: NewDate(2020, 1, 1), To: NewDate(2030, 12, 31), Location: la})
		if err == nil {
			checkImported(t, res)
		}
	})
}

// addTestdata seeds a fuzz test with the real-world import files.
func addTestdata(f *testing.F, ext string) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "import", "*"+ext))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}
