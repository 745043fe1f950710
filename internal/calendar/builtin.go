package calendar

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/koyomi-dev/koyomi/calendars"
	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/au"
	"github.com/rickar/cal/v2/ca"
	"github.com/rickar/cal/v2/de"
	"github.com/rickar/cal/v2/fr"
	"github.com/rickar/cal/v2/gb"
	"github.com/rickar/cal/v2/jp"
	"github.com/rickar/cal/v2/us"
)

// SetInfo describes a built-in holiday set.
type SetInfo struct {
	ID          string
	Description string
	// Source says where the dates come from, including where data ends and
	// rules begin.
	Source string
}

// BuiltinSetInfos lists the built-in holiday sets in ID order.
func BuiltinSetInfos() []SetInfo {
	reg := builtins()
	out := make([]SetInfo, 0, len(reg))
	for _, s := range reg {
		out = append(out, s.info)
	}
	slices.SortFunc(out, func(a, b SetInfo) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return out
}

// BuiltinSets returns the built-in holiday sets by ID. The sets are shared
// and safe for concurrent use.
func BuiltinSets() map[string]HolidaySet {
	reg := builtins()
	out := make(map[string]HolidaySet, len(reg))
	for id, s := range reg {
		out[id] = s
	}
	return out
}

// LookupSet returns the built-in holiday set with the given ID.
func LookupSet(id string) (HolidaySet, bool) {
	s, ok := builtins()[id]
	if !ok {
		return nil, false
	}
	return s, true
}

// CheckBuiltins reports a problem with the embedded holiday data. It
// returns nil for every shipped build (a test asserts it); a server may call
// it at start-up.
func CheckBuiltins() error {
	if err := builtins()["jp"].dataErr; err != nil {
		return fmt.Errorf("built-in holiday set jp: %w", err)
	}
	return nil
}

// builtinSet is a holiday set with an immutable per-year cache.
type builtinSet struct {
	info    SetInfo
	compute func(y int) []Holiday
	dataErr error

	mu    sync.Mutex
	years map[int][]Holiday
}

func (s *builtinSet) ID() string { return s.info.ID }

// Holidays returns the holidays dated in year y, in date order. The result is
// a copy the caller may keep.
func (s *builtinSet) Holidays(y int) []Holiday {
	s.mu.Lock()
	h, ok := s.years[y]
	if !ok {
		h = s.compute(y)
		s.years[y] = h
	}
	s.mu.Unlock()
	return slices.Clone(h)
}

// builtins is the registry of the built-in sets: immutable data built once.
var builtins = sync.OnceValue(func() map[string]*builtinSet {
	reg := map[string]*builtinSet{}
	add := func(info SetInfo, compute func(int) []Holiday, dataErr error) {
		reg[info.ID] = &builtinSet{info: info, compute: compute, dataErr: dataErr, years: map[int][]Holiday{}}
	}
	jpData, jpErr := parseJapanCSV()
	add(SetInfo{ID: "jp", Description: "Japan: national holidays, substitute holidays and citizens' holidays (名称 in Japanese)",
		Source: fmt.Sprintf("Cabinet Office syukujitsu.csv for %d-%d (%s); from %d by the rules of the Act on National Holidays",
			jpData.firstYear, jpData.lastYear, calendars.JapanCSVSource, jpData.lastYear+1)},
		jpData.holidays, jpErr)
	for _, r := range ruleSets() {
		add(r.info, r.holidays, nil)
	}
	return reg
})

// rickarMu serialises calls into rickar/cal: its Japanese vernal equinox
// function writes to the shared *cal.Holiday it is given.
var rickarMu sync.Mutex

// calc returns a rickar holiday's actual and observed dates in year y.
func calc(h *cal.Holiday, y int) (actual, observed Date, ok bool) {
	rickarMu.Lock()
	a, o := h.Calc(y)
	rickarMu.Unlock()
	if a.IsZero() {
		return 0, 0, false
	}
	return DateOf(a), DateOf(o), true
}

// namedHoliday is a rickar rule with the name Koyomi shows.
type namedHoliday struct {
	h    *cal.Holiday
	name string
}

type ruleSet struct {
	info  SetInfo
	rules []namedHoliday
}

// holidays computes year y: the actual date of each holiday and, when the
// country observes it on another day, that day too. Rules of the
// neighbouring years are evaluated so that a holiday observed across the
// year boundary lands in the right year.
func (r ruleSet) holidays(y int) []Holiday {
	first, next := NewDate(y, time.January, 1), NewDate(y+1, time.January, 1)
	var out []Holiday
	addDay := func(d Date, name string) {
		if d < first || d >= next {
			return
		}
		for _, h := range out {
			if h.Date == d {
				return
			}
		}
		out = append(out, Holiday{Date: d, Name: name})
	}
	for yy := y - 1; yy <= y+1; yy++ {
		for _, nh := range r.rules {
			a, o, ok := calc(nh.h, yy)
			if !ok {
				continue
			}
			addDay(a, nh.name)
			if o != a {
				addDay(o, nh.name+" (observed)")
			}
		}
	}
	slices.SortFunc(out, func(a, b Holiday) int { return int(a.Date - b.Date) })
	return out
}

func rickarSource(pkg string) string {
	return "rules of github.com/rickar/cal/v2/" + pkg + " (national holidays; weekend holidays also closed on their observed day)"
}

func ruleSets() []ruleSet {
	return []ruleSet{
		{SetInfo{"us", "United States: federal holidays", rickarSource("us")}, []namedHoliday{
			{us.NewYear, "New Year's Day"}, {us.MlkDay, "Martin Luther King Jr. Day"}, {us.PresidentsDay, "Washington's Birthday"},
			{us.MemorialDay, "Memorial Day"}, {us.Juneteenth, "Juneteenth National Independence Day"},
			{us.IndependenceDay, "Independence Day"}, {us.LaborDay, "Labor Day"}, {us.ColumbusDay, "Columbus Day"},
			{us.VeteransDay, "Veterans Day"}, {us.ThanksgivingDay, "Thanksgiving Day"}, {us.ChristmasDay, "Christmas Day"},
		}},
		{SetInfo{"gb", "United Kingdom (England and Wales): bank holidays", rickarSource("gb")}, []namedHoliday{
			{gb.NewYear, "New Year's Day"}, {gb.GoodFriday, "Good Friday"}, {gb.EasterMonday, "Easter Monday"},
			{gb.EarlyMay, "Early May Bank Holiday"}, {gb.VEDay, "VE Day"}, {gb.CoronationDay, "Coronation of King Charles III"},
			{gb.SpringHoliday, "Spring Bank Holiday"}, {gb.SpringHoliday2022, "Spring Bank Holiday"},
			{gb.PlatinumJubilee, "Platinum Jubilee Bank Holiday"}, {gb.SummerHoliday, "Summer Bank Holiday"},
			{gb.ChristmasDay, "Christmas Day"}, {gb.BoxingDay, "Boxing Day"},
		}},
		{SetInfo{"de", "Germany: nationwide public holidays", rickarSource("de")}, []namedHoliday{
			{de.Neujahr, "New Year's Day"}, {de.Karfreitag, "Good Friday"}, {de.Ostermontag, "Easter Monday"},
			{de.TagderArbeit, "Labour Day"}, {de.ChristiHimmelfahrt, "Ascension Day"}, {de.Pfingstmontag, "Whit Monday"},
			{de.DeutschenEinheit, "German Unity Day"}, {de.Weihnachtstag, "Christmas Day"},
			{de.ZweiterWeihnachtsfeiertag, "Second Day of Christmas"},
		}},
		{SetInfo{"fr", "France: public holidays (jours fériés)", rickarSource("fr")}, []namedHoliday{
			{fr.NouvelAn, "New Year's Day"}, {fr.LundiDePâques, "Easter Monday"}, {fr.FêteDuTravail, "Labour Day"},
			{fr.FêteDeLaVictoire, "Victory in Europe Day"}, {fr.Ascension, "Ascension Day"},
			{fr.LundiDePentecôte, "Whit Monday"}, {fr.FêteNationale, "Bastille Day"}, {fr.Assomption, "Assumption Day"},
			{fr.Toussaint, "All Saints' Day"}, {fr.Armistice1918, "Armistice Day"}, {fr.Noël, "Christmas Day"},
		}},
		{SetInfo{"au", "Australia: national public holidays", rickarSource("au")}, []namedHoliday{
			{au.NewYear, "New Year's Day"}, {au.AustraliaDay, "Australia Day"}, {au.GoodFriday, "Good Friday"},
			{au.EasterMonday, "Easter Monday"}, {au.AnzacDay, "ANZAC Day"}, {au.ChristmasDay, "Christmas Day"},
			{au.BoxingDay, "Boxing Day"},
		}},
		{SetInfo{"ca", "Canada: federal statutory holidays", rickarSource("ca")}, []namedHoliday{
			{ca.NewYear, "New Year's Day"}, {ca.GoodFriday, "Good Friday"}, {ca.EasterMonday, "Easter Monday"},
			{ca.VictoriaDay, "Victoria Day"}, {ca.CanadaDay, "Canada Day"}, {ca.CivicDay, "Civic Holiday"},
			{ca.LabourDay, "Labour Day"}, {ca.ThanksgivingDay, "Thanksgiving Day"},
			{ca.NationalDayForTruthAndReconciliation, "National Day for Truth and Reconciliation"},
			{ca.RemembranceDay, "Remembrance Day"}, {ca.ChristmasDay, "Christmas Day"}, {ca.BoxingDay, "Boxing Day"},
		}},
	}
}

// japanData is the Cabinet Office list by year.
type japanData struct {
	firstYear, lastYear int
	byYear              map[int][]Holiday
}

// holidays returns year y: the Cabinet Office data where it has the year,
// the current rules after it, nothing before it.
func (j japanData) holidays(y int) []Holiday {
	switch {
	case y < j.firstYear:
		return nil
	case y <= j.lastYear:
		return j.byYear[y]
	}
	return JapanRuleHolidays(y)
}

func parseJapanCSV() (japanData, error) {
	res, err := ImportCSV("calendars/jp.csv", calendars.JapanCSV(), ImportOptions{})
	if err != nil || len(res.Days) == 0 {
		if err == nil {
			err = fmt.Errorf("calendars/jp.csv: no rows: %w", ErrInvalid)
		}
		// Fall back to the rules for every year from 1955.
		return japanData{firstYear: 1955, lastYear: 1954, byYear: map[int][]Holiday{}}, err
	}
	j := japanData{firstYear: res.Days[0].Date.Year(), lastYear: res.Days[len(res.Days)-1].Date.Year(), byYear: map[int][]Holiday{}}
	for _, d := range res.Days {
		y := d.Date.Year()
		j.byYear[y] = append(j.byYear[y], Holiday{Date: d.Date, Name: d.Name})
	}
	return j, nil
}

// japanRules are the national holidays of the Act on National Holidays as in
// force since 2020, with their official names.
var japanRules = []namedHoliday{
	{jp.NewYear, "元日"}, {jp.ComingOfAgeDay, "成人の日"}, {jp.NationalFoundationDay, "建国記念の日"},
	{jp.TheEmperorsBirthday, "天皇誕生日"}, {jp.VernalEquinoxDay, "春分の日"}, {jp.ShowaDay, "昭和の日"},
	{jp.ConstitutionMemorialDay, "憲法記念日"}, {jp.GreeneryDay, "みどりの日"}, {jp.ChildrensDay, "こどもの日"},
	{jp.MarineDay, "海の日"}, {jp.MountainDay, "山の日"}, {jp.RespectForTheAgedDay, "敬老の日"},
	{jp.AutumnalEquinoxDay, "秋分の日"}, {jp.SportsDay, "スポーツの日"}, {jp.CultureDay, "文化の日"},
	{jp.LaborThanksgivingDay, "勤労感謝の日"},
}

// JapanRuleHolidays computes Japan's holidays of year y by the current rules
// (valid from 2022 on; earlier years had other rules and one-off days):
// the national holidays; a substitute holiday (休日) on the first following
// day that is not a holiday when one falls on a Sunday; and a citizens'
// holiday (休日) on a day that lies between two holidays.
func JapanRuleHolidays(y int) []Holiday {
	first, next := NewDate(y, time.January, 1), NewDate(y+1, time.January, 1)
	named := map[Date]string{}
	for _, nh := range japanRules {
		if a, _, ok := calc(nh.h, y); ok {
			named[a] = nh.name
		}
	}
	national := make(map[Date]bool, len(named))
	for d := range named {
		national[d] = true
	}
	isHoliday := func(d Date) bool { _, ok := named[d]; return ok }
	// Substitute holidays, in date order so that a chain resolves.
	base := make([]Date, 0, len(named))
	for d := range named {
		base = append(base, d)
	}
	slices.Sort(base)
	for _, d := range base {
		if d.Weekday() != time.Sunday {
			continue
		}
		s := d + 1
		for isHoliday(s) {
			s++
		}
		named[s] = "休日"
	}
	// Citizens' holidays: between two national holidays (not substitutes).
	for d := first + 1; d < next-1; d++ {
		if !isHoliday(d) && d.Weekday() != time.Sunday && national[d-1] && national[d+1] {
			named[d] = "休日"
		}
	}
	out := make([]Holiday, 0, len(named))
	for d, n := range named {
		if d >= first && d < next {
			out = append(out, Holiday{Date: d, Name: n})
		}
	}
	slices.SortFunc(out, func(a, b Holiday) int { return int(a.Date - b.Date) })
	return out
}
