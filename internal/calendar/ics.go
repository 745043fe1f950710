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

// ImportICS reads closed days from an iCalendar file (RFC 5545). Every
// VEVENT closes the days it covers, named by its SUMMARY:
//
//   - all-day events (DTSTART;VALUE=DATE:20260101, or DTSTART:20260101
//     without VALUE=DATE) close DTSTART up to DTEND exclusive; without DTEND,
//     or with DTEND equal to DTSTART, one day; DURATION in whole days;
//   - timed events from midnight to midnight close the days they cover:
//     midnight as written (floating, UTC "Z" or with a TZID), or midnight
//     in the zone of the calendar imported into (opt.Location);
//   - RRULE and RDATE add occurrences, EXDATE removes them (on recurring and
//     single events alike); recurring events expand over the import range;
//   - an event with RECURRENCE-ID replaces the occurrence of the event with
//     the same UID that starts on that date (or removes it when cancelled);
//   - cancelled events are ignored.
//
// The import range is opt.From..opt.To; without From it starts at the first
// event, without To it ends ICSExpandYearsDefault years after opt.Today (at
// the end of that year), and never before the last single event. The range
// used comes back in the result.
//
// Every event that cannot be read is reported on its own with the line of
// its BEGIN:VEVENT and its UID; the rest import under opt.SkipBad.
func ImportICS(file string, data []byte, opt ImportOptions) (ImportResult, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return ImportResult{}, fmt.Errorf("import %s: not UTF-8 text: %w", file, ErrInvalid)
	}
	blocks, ok := veventBlocks(data)
	if !ok {
		return ImportResult{}, fmt.Errorf("import %s: not an iCalendar file (no BEGIN:VCALENDAR): %w", file, ErrInvalid)
	}
	loc := opt.Location
	if loc == nil {
		loc = time.UTC
	}
	var (
		events []*icsEvent
		probs  fault.Problems
	)
	report := func(ev *icsEvent, err error) {
		msg := err.Error()
		if ev.uid != "" {
			msg = fmt.Sprintf("UID %q: %s", ev.uid, msg)
		}
		probs.Add(fmt.Sprintf("%s:%d", file, ev.line), "%s", msg)
	}
	for _, b := range blocks {
		ev, err := readEvent(b, loc)
		if err != nil {
			report(ev, err)
			if len(probs) > maxProblems {
				break
			}
			continue
		}
		if ev != nil {
			events = append(events, ev)
		}
	}

	// The range: explicit, or from the first event to ten years ahead.
	from, to := opt.From, opt.To
	def := from == 0 || to == 0
	if from == 0 {
		for i, ev := range events {
			if first := ev.first(); i == 0 || first < from {
				from = first
			}
		}
	}
	if to == 0 {
		base := opt.Today
		if base == 0 {
			base = from
		}
		to = NewDate(base.Year()+ICSExpandYearsDefault, time.December, 31)
		for _, ev := range events {
			if ev.rule == nil {
				if last := ev.last(); last > to {
					to = last
				}
			}
		}
	}

	// Occurrence starts of every event; overrides remove what they replace.
	byUID := map[string][]*icsEvent{}
	for _, ev := range events {
		if ev.recurrenceID == 0 && ev.uid != "" {
			byUID[ev.uid] = append(byUID[ev.uid], ev)
		}
	}
	for _, ev := range events {
		if ev.recurrenceID == 0 {
			continue
		}
		for _, m := range byUID[ev.uid] {
			m.replaced[ev.recurrenceID] = true
		}
	}
	var days []ImportedDay
	for _, ev := range events {
		if ev.cancelled {
			continue
		}
		starts, err := ev.occurrences(from, to)
		if err != nil {
			report(ev, err)
			continue
		}
		for _, s := range starts {
			for i := 0; i < ev.length; i++ {
				days = append(days, ImportedDay{Date: s + Date(i), Name: ev.name, Line: ev.line})
			}
		}
	}
	opt.From, opt.To = from, to
	res, err := finish(file, days, probs, opt)
	if err != nil {
		return res, err
	}
	res.From, res.To, res.DefaultRange = from, to, def
	return res, nil
}

// ICSExpandYearsDefault is how many years after today recurring events are
// expanded when ImportOptions.To is not set.
const ICSExpandYearsDefault = 10

// icsBlock is one VEVENT's content lines, unfolded, with the line of its
// BEGIN:VEVENT.
type icsBlock struct {
	line int
	text string
}

// veventBlocks splits the file into its VEVENTs (any nesting), so that each
// is decoded and reported on its own. ok is false without BEGIN:VCALENDAR.
func veventBlocks(data []byte) (blocks []icsBlock, ok bool) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), len(data)+1)
	var cur *strings.Builder
	start := 0
	for n := 1; sc.Scan(); n++ {
		raw := strings.TrimRight(sc.Text(), "\r")
		if cur != nil && len(raw) > 0 && (raw[0] == ' ' || raw[0] == '\t') {
			cur.WriteString(raw) // folded: kept as is for the decoder
			cur.WriteString("\r\n")
			continue
		}
		switch line := strings.ToUpper(strings.TrimSpace(raw)); {
		case line == "BEGIN:VCALENDAR":
			ok = true
		case line == "BEGIN:VEVENT":
			cur, start = &strings.Builder{}, n
		case line == "END:VEVENT" && cur != nil:
			cur.WriteString("END:VEVENT\r\n")
			blocks = append(blocks, icsBlock{line: start, text: cur.String()})
			cur = nil
			continue
		}
		if cur != nil {
			cur.WriteString(strings.TrimLeft(raw, " \t"))
			cur.WriteString("\r\n")
		}
	}
	if cur != nil {
		blocks = append(blocks, icsBlock{line: start, text: cur.String() + "END:VEVENT\r\n"})
	}
	return blocks, ok
}

// decodeEvent parses one VEVENT. The decoder panics on some malformed
// content lines; that is reported like any other parse error.
func decodeEvent(text string) (ev *ical.Event, err error) {
	defer func() {
		if r := recover(); r != nil {
			ev, err = nil, fmt.Errorf("malformed iCalendar content (%v)", r)
		}
	}()
	cal, err := ical.NewDecoder(strings.NewReader("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//in//EN\r\n" + text + "END:VCALENDAR\r\n")).Decode()
	if err != nil {
		return nil, err
	}
	evs := cal.Events()
	if len(evs) != 1 {
		return nil, fmt.Errorf("malformed VEVENT")
	}
	return &evs[0], nil
}

// icsEvent is one VEVENT read as whole days.
type icsEvent struct {
	line      int
	uid       string
	name      string
	cancelled bool
	// recurrenceID is the start date of the occurrence this event replaces
	// (0: none).
	recurrenceID Date
	start        Date
	length       int
	rule         *rrule.ROption
	rdates       []Date
	exdates      map[Date]bool
	replaced     map[Date]bool // occurrences replaced by RECURRENCE-ID events
	// frame is the zone the event's dates are read in (for EXDATE, RDATE and
	// RECURRENCE-ID values written as date-times).
	frame frame
}

// first and last are the first and last start dates the event names
// without expansion.
func (ev *icsEvent) first() Date {
	f := ev.start
	for _, d := range ev.rdates {
		f = min(f, d)
	}
	return f
}

func (ev *icsEvent) last() Date {
	l := ev.start
	for _, d := range ev.rdates {
		l = max(l, d)
	}
	return l + Date(ev.length-1)
}

// frame is the zone a date-time is read in to give a date: the zone the
// event's DTSTART is written in (own), or the calendar's zone.
type frame struct {
	own bool
	loc *time.Location
}

func (f frame) date(t icsTime) Date {
	if t.allDay {
		return t.wall
	}
	return DateOf(t.inst.In(f.loc))
}

// icsTime is a DATE or DATE-TIME value.
type icsTime struct {
	allDay bool
	// wall is the date as written; wallMidnight whether the written clock
	// time is 00:00:00 (always for dates).
	wall         Date
	wallMidnight bool
	inst         time.Time // the instant (floating times in the calendar's zone)
	text         string
}

// parseICSTime reads a DATE (YYYYMMDD, with or without VALUE=DATE) or a
// DATE-TIME (floating, UTC with Z, or with a TZID) value.
func parseICSTime(p *ical.Prop, v string, loc *time.Location) (icsTime, error) {
	v = strings.TrimSpace(v)
	out := icsTime{text: v}
	if len(v) == 8 {
		t, err := time.Parse("20060102", v)
		if err != nil {
			return out, fmt.Errorf("%q: want YYYYMMDD", v)
		}
		out.allDay, out.wall, out.wallMidnight, out.inst = true, DateOf(t), true, t
		return out, nil
	}
	zone := loc
	layout := "20060102T150405"
	switch {
	case strings.HasSuffix(v, "Z") || strings.HasSuffix(v, "z"):
		v, zone = v[:len(v)-1], time.UTC
	case p != nil && p.Params.Get(ical.ParamTimezoneID) != "":
		tzid := p.Params.Get(ical.ParamTimezoneID)
		z, err := loadTZID(tzid)
		if err != nil {
			return out, fmt.Errorf("%q: unknown TZID %q", out.text, tzid)
		}
		zone = z
	}
	t, err := time.ParseInLocation(layout, v, zone)
	if err != nil {
		return out, fmt.Errorf("%q: want YYYYMMDD or YYYYMMDDTHHMMSS[Z]", out.text)
	}
	out.wall = DateOf(t)
	out.wallMidnight = t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0
	out.inst = t
	return out, nil
}

// loadTZID loads an IANA zone, also when a producer prefixed it with a path
// (Thunderbird's "/mozilla.org/20070129_1/Europe/London").
func loadTZID(tzid string) (*time.Location, error) {
	tzid = strings.Trim(tzid, `"`)
	loc, err := time.LoadLocation(tzid)
	for err != nil {
		i := strings.IndexByte(tzid, '/')
		if i < 0 {
			return nil, err
		}
		tzid = tzid[i+1:]
		if tzid == "" {
			return nil, err
		}
		loc, err = time.LoadLocation(tzid)
	}
	return loc, nil
}

// readEvent reads one VEVENT. A returned error belongs to the returned
// event (its line and UID are set).
func readEvent(b icsBlock, loc *time.Location) (*icsEvent, error) {
	ev := &icsEvent{line: b.line, exdates: map[Date]bool{}, replaced: map[Date]bool{}}
	ve, err := decodeEvent(b.text)
	if err != nil {
		return ev, err
	}
	if p := ve.Props.Get(ical.PropUID); p != nil {
		ev.uid = strings.TrimSpace(p.Value)
	}
	if p := ve.Props.Get(ical.PropSummary); p != nil {
		name, _ := p.Text()
		ev.name = strings.TrimSpace(name)
	}
	if st := ve.Props.Get(ical.PropStatus); st != nil && strings.EqualFold(strings.TrimSpace(st.Value), string(ical.EventCancelled)) {
		ev.cancelled = true
	}
	sp := ve.Props.Get(ical.PropDateTimeStart)
	if sp == nil {
		return ev, fmt.Errorf("no DTSTART")
	}
	start, err := parseICSTime(sp, sp.Value, loc)
	if err != nil {
		return ev, fmt.Errorf("DTSTART %v", err)
	}
	if err := ev.readSpan(ve, start, loc); err != nil {
		return ev, err
	}
	if p := ve.Props.Get(ical.PropRecurrenceID); p != nil {
		t, err := parseICSTime(p, p.Value, loc)
		if err != nil {
			return ev, fmt.Errorf("RECURRENCE-ID %v", err)
		}
		ev.recurrenceID = ev.frame.date(t)
	}
	if ev.length > 366 {
		return ev, fmt.Errorf("event lasts %d days: at most 366", ev.length)
	}
	if p := ve.Props.Get(ical.PropRecurrenceRule); p != nil && ev.recurrenceID == 0 {
		ro, err := rrule.StrToROption(p.Value)
		if err != nil {
			return ev, fmt.Errorf("RRULE %q: %v", p.Value, err)
		}
		if ro.Freq > rrule.DAILY {
			return ev, fmt.Errorf("RRULE FREQ=%v: a whole-day event recurs at most daily", ro.Freq)
		}
		if !ro.Until.IsZero() {
			// UNTIL is inclusive; compare in the event's own dates.
			u := ro.Until
			if strings.Contains(strings.ToUpper(p.Value), "Z") {
				u = u.In(ev.frame.loc)
			}
			ro.Until = DateOf(u).At(0, time.UTC)
		}
		if err := checkRuleCanOccur(ro); err != nil {
			return ev, fmt.Errorf("RRULE %q: %v", p.Value, err)
		}
		ro.Dtstart = ev.start.At(0, time.UTC)
		ev.rule = ro
	}
	for _, name := range []string{ical.PropRecurrenceDates, ical.PropExceptionDates} {
		for _, p := range ve.Props.Values(name) {
			if strings.EqualFold(p.Params.Get(ical.ParamValue), "PERIOD") {
				return ev, fmt.Errorf("%s with VALUE=PERIOD: not supported", name)
			}
			for _, v := range strings.Split(p.Value, ",") {
				if strings.TrimSpace(v) == "" {
					continue
				}
				t, err := parseICSTime(&p, v, loc)
				if err != nil {
					return ev, fmt.Errorf("%s %v", name, err)
				}
				d := ev.frame.date(t)
				if name == ical.PropExceptionDates {
					ev.exdates[d] = true
				} else {
					ev.rdates = append(ev.rdates, d)
				}
			}
		}
	}
	return ev, nil
}

// readSpan sets the event's first day, length and frame from DTSTART and
// DTEND or DURATION.
func (ev *icsEvent) readSpan(ve *ical.Event, start icsTime, loc *time.Location) error {
	var (
		end    icsTime
		hasEnd bool
	)
	if p := ve.Props.Get(ical.PropDateTimeEnd); p != nil {
		t, err := parseICSTime(p, p.Value, loc)
		if err != nil {
			return fmt.Errorf("DTEND %v", err)
		}
		end, hasEnd = t, true
	} else if p := ve.Props.Get(ical.PropDuration); p != nil {
		d, err := p.Duration()
		if err != nil || d < 0 {
			return fmt.Errorf("DURATION %q: not a duration", p.Value)
		}
		if start.allDay || start.wallMidnight {
			if d%(24*time.Hour) != 0 {
				return fmt.Errorf("DURATION %q: want whole days", p.Value)
			}
			n := Date(d / (24 * time.Hour))
			end = icsTime{allDay: start.allDay, wall: start.wall + n, wallMidnight: true,
				inst: (start.wall + n).At(0, start.inst.Location())}
		} else {
			end = icsTime{inst: start.inst.Add(d), wall: DateOf(start.inst.Add(d))}
			end.wallMidnight = start.inst.Add(d).Hour() == 0 && start.inst.Add(d).Minute() == 0
		}
		hasEnd = true
	}
	ev.frame = frame{own: true, loc: start.inst.Location()}
	if start.allDay {
		ev.start, ev.length = start.wall, 1
		if hasEnd {
			if !end.wallMidnight {
				return fmt.Errorf("DTEND %q: an all-day event must end at a date", end.text)
			}
			switch n := int(end.wall - start.wall); {
			case n < 0:
				return fmt.Errorf("DTEND %s is before DTSTART %s", end.wall, start.wall)
			case n > 0:
				ev.length = n
			}
		}
		return nil
	}
	if !hasEnd {
		return fmt.Errorf("DTSTART %q is a time of day and there is no DTEND or DURATION: the event covers no whole day", start.text)
	}
	if !end.inst.After(start.inst) {
		return fmt.Errorf("DTEND %q is not after DTSTART %q", end.text, start.text)
	}
	if start.wallMidnight && end.wallMidnight {
		ev.start, ev.length = start.wall, int(end.wall-start.wall)
		return nil
	}
	ls, le := start.inst.In(loc), end.inst.In(loc)
	if isMidnight(ls) && isMidnight(le) {
		ev.frame = frame{loc: loc}
		ev.start, ev.length = DateOf(ls), int(DateOf(le)-DateOf(ls))
		return nil
	}
	return fmt.Errorf("timed event %s – %s does not cover whole days (not midnight to midnight as written or in %s)",
		start.text, end.text, loc)
}

func isMidnight(t time.Time) bool { return t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 }

// occurrences returns the start dates of the event's occurrences whose days
// touch from..to.
func (ev *icsEvent) occurrences(from, to Date) ([]Date, error) {
	lo := from - Date(ev.length-1)
	var out []Date
	add := func(d Date) {
		if d >= lo && d <= to && !ev.exdates[d] && !ev.replaced[d] {
			out = append(out, d)
		}
	}
	if ev.rule == nil {
		add(ev.start)
	} else {
		rule, err := rrule.NewRRule(*ev.rule)
		if err != nil {
			return nil, fmt.Errorf("RRULE: %v", err)
		}
		next := rule.Iterator()
		for i := 0; ; i++ {
			if i >= maxRecurrenceSteps {
				return nil, fmt.Errorf("RRULE: more than %d occurrences up to %s", maxRecurrenceSteps, to)
			}
			t, ok := next()
			if !ok {
				break
			}
			od := DateOf(t)
			if od > to {
				break
			}
			add(od)
		}
	}
	for _, d := range ev.rdates {
		add(d)
	}
	return out, nil
}

// checkRuleCanOccur refuses a rule whose month days exist in none of its
// months (BYMONTH=2;BYMONTHDAY=30): rrule-go would search such a rule up to
// the year 9999 before it gives up, for every event that names one.
func checkRuleCanOccur(ro *rrule.ROption) error {
	if len(ro.Bymonthday) == 0 {
		return nil
	}
	months := ro.Bymonth
	if len(months) == 0 {
		months = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	}
	for _, m := range months {
		n := time.Date(2024, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day() // the longest such month (leap year)
		for _, d := range ro.Bymonthday {
			if d != 0 && d <= n && -d <= n {
				return nil
			}
		}
	}
	return fmt.Errorf("no month of BYMONTH=%v has a day BYMONTHDAY=%v, so the rule never occurs", ro.Bymonth, ro.Bymonthday)
}

// maxRecurrenceSteps bounds the expansion of one recurring event.
const maxRecurrenceSteps = 100_000

// ExportICS writes the closed days from..to as an iCalendar file (RFC
// 5545): one all-day VEVENT per day with the day's name (ExportName) as
// SUMMARY, CRLF line endings, lines folded at 75 octets. stamp is the
// DTSTAMP (the export time); UIDs derive from the date and the calendar
// name, so re-exports update the same events.
func (c *Calendar) ExportICS(from, to Date, stamp time.Time) []byte {
	var b bytes.Buffer
	w := func(line string) { writeFolded(&b, line) }
	w("BEGIN:VCALENDAR")
	w("VERSION:2.0")
	w("PRODID:-//Koyomi//Operation calendar//EN")
	w("CALSCALE:GREGORIAN")
	w("X-WR-CALNAME:" + icsText(c.name))
	if c.loc != time.UTC {
		w("X-WR-TIMEZONE:" + icsText(c.loc.String()))
	}
	ts := stamp.UTC().Format("20060102T150405Z")
	for _, s := range c.ClosedDays(from, to) {
		ds := strings.ReplaceAll(s.Date.String(), "-", "")
		w("BEGIN:VEVENT")
		w("UID:" + ds + "-" + icsText(c.name) + "@koyomi")
		w("DTSTAMP:" + ts)
		w("DTSTART;VALUE=DATE:" + ds)
		w("DTEND;VALUE=DATE:" + strings.ReplaceAll((s.Date+1).String(), "-", ""))
		w("SUMMARY:" + icsText(ExportName(s)))
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
