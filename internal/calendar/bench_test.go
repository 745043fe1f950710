package calendar

import (
	"os"
	"testing"
	"time"
)

func BenchmarkIsOpen(b *testing.B) {
	c := companyCalendar(b)
	start := NewDate(2026, 1, 1)
	for i := range 730 {
		c.IsOpen(start + Date(i))
	}
	b.ResetTimer()
	n := 0
	for i := 0; b.Loop(); i++ {
		if c.IsOpen(start + Date(i%730)) {
			n++
		}
	}
	_ = n
}

func BenchmarkIsOpenParallel(b *testing.B) {
	c := companyCalendar(b)
	start := NewDate(2026, 1, 1)
	c.IsOpen(start)
	c.IsOpen(start + 400)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			c.IsOpen(start + Date(i%730))
			i++
		}
	})
}

func BenchmarkStatus(b *testing.B) {
	c := companyCalendar(b)
	start := NewDate(2026, 1, 1)
	c.Status(start)
	for i := 0; b.Loop(); i++ {
		c.Status(start + Date(i%365))
	}
}

// BenchmarkBuildYear measures computing one year of a jp + Sat/Sun company
// calendar (holiday set years already cached, as in a running server).
func BenchmarkBuildYear(b *testing.B) {
	c := companyCalendar(b)
	c.IsOpen(NewDate(2026, 1, 1))
	for b.Loop() {
		c.computeYear(2026)
	}
}

func BenchmarkAddOpenDays(b *testing.B) {
	c := companyCalendar(b)
	start := NewDate(2026, 1, 1)
	for i := 0; b.Loop(); i++ {
		c.AddOpenDays(start+Date(i%300), -3)
	}
}

func BenchmarkDateAt(b *testing.B) {
	ny, _ := time.LoadLocation("America/New_York")
	d := NewDate(2026, 3, 8)
	for b.Loop() {
		d.At(2*time.Hour+30*time.Minute, ny)
	}
}

// BenchmarkImportICSThunderbird reads a holiday calendar of yearly rules
// since 2010 over its default range (to ten years after today).
func BenchmarkImportICSThunderbird(b *testing.B) {
	data, err := os.ReadFile("testdata/import/thunderbird-us.ics")
	if err != nil {
		b.Fatal(err)
	}
	opt := ImportOptions{Today: NewDate(2026, 12, 4)}
	for b.Loop() {
		if _, err := ImportICS("us.ics", data, opt); err != nil {
			b.Fatal(err)
		}
	}
}
