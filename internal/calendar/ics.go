package calendar

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-ical"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/teambition/rrule-go"
)

// ImportICS reads closed days from an iCalendar file: every all-day VEVENT
// (DTSTART with a date value) closes the days from DTSTART up to DTEND
// (exclusive; one day without DTEND), with its SUMMARY as the name. Yearly
// and other RRULEs are expanded within opt.From..opt.To (To defaults to
// ICSExpandYearsDefault years after the event's start), minus its EXDATEs.
// Cancelled events are ignored. Timed events and malformed ones are bad
// events, reported with the line of their BEGIN:VEVENT.
func ImportICS(file string, data []byte, opt ImportOptions) (ImportResult, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return ImportResult{}, fmt.Errorf("import %s: not UTF-8 text: %w", file, ErrInvalid)
	}
	cal, err := decodeICS(data)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import %s: %v: %w", file, err, ErrInvalid)
	}
	lines := veventLines(data)
	var (
		days  []ImportedDay
		probs fault.Problems
	)
	for i, ev := range cal.Events() {
		line := 0
		if i < len(lines) {
			line = lines[i]
		}
		where := fmt.Sprintf("%s:%d", file, line)
		got, err := eventDays(ev, line, opt)
		if err != nil {
			probs.Add(where, "%v", err)
			if len(probs) > maxProblems {
				break
			}
			continue
		}
		days = append(days, got...)
	}
	return finish(file, days, probs, opt)
}

// decodeICS parses the file. The decoder panics on some malformed content
// lines; that is reported as a parse error like any other.
func decodeICS(data []byte) (cal *ical.Calendar, err error) {
	defer func() {
		if r := recover(); r != nil {
			cal, err = nil, fmt.Errorf("malformed iCalendar content (%v)", r)
		}
	}()
	return ical.NewDecoder(bytes.NewReader(data)).Decode()
}

// veventLines returns the line numbers of the BEGIN:VEVENT lines in order.
func veventLines(data []byte) []int {
	var out []int
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), len(data)+1)
	for n := 1; sc.Scan(); n++ {
		if strings.EqualFold(strings.TrimSpace(sc.Text()), "BEGIN:VEVENT") {
			out = append(out, n)
		}
	}
	return out
}

func eventDays(ev ical.Event, line int, opt ImportOptions) ([]ImportedDay, error) {
	if st := ev.Props.Get(ical.PropStatus); st != nil && strings.EqualFold(st.Value, string(ical.EventCancelled)) {
		return nil, nil
	}
	start, err := icsDate(ev.Props.Get(ical.PropDateTimeStart), "DTSTART")
	if err != nil {
		return nil, err
	}
	length := 1
	if p := ev.Props.Get(ical.PropDateTimeEnd); p != nil {
		end, err := icsDate(p, "DTEND")
		if err != nil {
			return nil, err
		}
		if end <= start {
			return nil, fmt.Errorf("DTEND %s is not after DTSTART %s", end, start)
		}
		length = int(end - start)
	} else if p := ev.Props.Get(ical.PropDuration); p != nil {
		d, err := p.Duration()
		if err != nil || d <= 0 || d%(24*time.Hour) != 0 {
			return nil, fmt.Errorf("DURATION %q: want whole days", p.Value)
		}
		length = int(d / (24 * time.Hour))
	}
	if length > 366 {
		return nil, fmt.Errorf("event lasts %d days: at most 366", length)
	}
	name := ""
	if p := ev.Props.Get(ical.PropSummary); p != nil {
		name, _ = p.Text()
	}
	starts := []Date{start}
	if p := ev.Props.Get(ical.PropRecurrenceRule); p != nil {
		if starts, err = expandRule(ev, start, opt); err != nil {
			return nil, err
		}
	}
	var out []ImportedDay
	for _, s := range starts {
		for i := 0; i < length; i++ {
			out = append(out, ImportedDay{Date: s + Date(i), Name: name, Line: line})
		}
	}
	return out, nil
}

// icsDate reads a DATE-valued property.
func icsDate(p *ical.Prop, name string) (Date, error) {
	if p == nil {
		return 0, fmt.Errorf("no %s", name)
	}
	if p.ValueType() == ical.ValueDateTime || len(p.Value) != 8 {
		return 0, fmt.Errorf("%s %q: not an all-day event (want VALUE=DATE YYYYMMDD)", name, p.Value)
	}
	t, err := time.Parse("20060102", p.Value)
	if err != nil {
		return 0, fmt.Errorf("%s %q: want YYYYMMDD", name, p.Value)
	}
	return DateOf(t), nil
}

// expandRule returns the occurrence dates of a recurring all-day event in
// the import range.
func expandRule(ev ical.Event, start Date, opt ImportOptions) ([]Date, error) {
	ro, err := ev.Props.RecurrenceRule()
	if err != nil || ro == nil {
		return nil, fmt.Errorf("RRULE: %v", err)
	}
	ro.Dtstart = start.At(0, time.UTC)
	rule, err := rrule.NewRRule(*ro)
	if err != nil {
		return nil, fmt.Errorf("RRULE: %v", err)
	}
	var set rrule.Set
	set.RRule(rule)
	for _, p := range ev.Props.Values(ical.PropExceptionDates) {
		for _, v := range strings.Split(p.Value, ",") {
			q := ical.Prop{Name: "EXDATE", Params: p.Params, Value: v}
			d, err := icsDate(&q, "EXDATE")
			if err != nil {
				return nil, err
			}
			set.ExDate(d.At(0, time.UTC))
		}
	}
	from, to := opt.From, opt.To
	if from == 0 || from < start {
		from = start
	}
	if to == 0 {
		to = start.AddMonths(12 * ICSExpandYearsDefault)
	}
	if to < from {
		return nil, nil
	}
	if ro.Freq > rrule.DAILY {
		return nil, fmt.Errorf("RRULE FREQ=%v: an all-day event recurs at most daily", ro.Freq)
	}
	var out []Date
	next := set.Iterator()
	for i := 0; ; i++ {
		if i >= maxRecurrenceSteps {
			return nil, fmt.Errorf("RRULE: more than %d occurrences", maxRecurrenceSteps)
		}
		t, ok := next()
		if !ok {
			break
		}
		od := DateOf(t)
		if od > to {
			break
		}
		if od >= from {
			out = append(out, od)
		}
	}
	return out, nil
}

// maxRecurrenceSteps bounds the expansion of one recurring event.
const maxRecurrenceSteps = 100_000

// ExportICS writes the closed days from..to as an iCalendar file (RFC
// 5545): one all-day VEVENT per day with the reason as SUMMARY, CRLF line
// endings, lines folded at 75 octets. stamp is the DTSTAMP (the export
// time); UIDs derive from the date and the calendar name, so re-exports
// update the same events.
func (c *Calendar) ExportICS(from, to Date, stamp time.Time) []byte {
	var b bytes.Buffer
	w := func(line string) { writeFolded(&b, line) }
	w("BEGIN:VCALENDAR")
	w("VERSION:2.0")
	w("PRODID:-//Koyomi//Operation calendar//EN")
	w("CALSCALE:GREGORIAN")
	w("X-WR-CALNAME:" + icsText(c.name))
	ts := stamp.UTC().Format("20060102T150405Z")
	for _, s := range c.ClosedDays(from, to) {
		ds := strings.ReplaceAll(s.Date.String(), "-", "")
		w("BEGIN:VEVENT")
		w("UID:" + ds + "-" + icsText(c.name) + "@koyomi")
		w("DTSTAMP:" + ts)
		w("DTSTART;VALUE=DATE:" + ds)
		w("DTEND;VALUE=DATE:" + strings.ReplaceAll((s.Date+1).String(), "-", ""))
		w("SUMMARY:" + icsText(closedName(s)))
		w("TRANSP:TRANSPARENT")
		w("END:VEVENT")
	}
	w("END:VCALENDAR")
	return b.Bytes()
}

// icsText escapes a TEXT value.
func icsText(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`).Replace(s)
}

// writeFolded writes one content line, folded so that no physical line
// exceeds 75 octets, never splitting a UTF-8 sequence.
func writeFolded(b *bytes.Buffer, line string) {
	limit := 75
	for len(line) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		b.WriteString(line[:cut])
		b.WriteString("\r\n ")
		line = line[cut:]
		limit = 74 // the leading space counts
	}
	b.WriteString(line)
	b.WriteString("\r\n")
}
