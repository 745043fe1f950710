package views

import (
	"context"
	"regexp"
	"strings"
)

// Explanation says the stored explanation of a run (internal/plan writes
// it in English: clauses joined by "; ", such as "day 15 of month
// 2026-02 → 2026-02-15; 2026-02-15 is Sunday (closed) → before →
// 2026-02-13; start 09:00", or "run now by admin for business date
// 2026-12-04") in the request's language, clause by clause. English is
// returned as stored; a clause without a fixed phrase stays as stored.
func Explanation(ctx context.Context, s string) string {
	lang := Page(ctx).Lang
	if lang == "" || lang == "en" || s == "" {
		return s
	}
	clauses := strings.Split(s, "; ")
	for i, c := range clauses {
		clauses[i] = explainClause(ctx, lang, c)
	}
	return strings.Join(clauses, T(ctx, "explain.sep"))
}

var (
	explainRunNow   = regexp.MustCompile(`^run now by (\S+) for business date (\S+)$`)
	explainClosed   = regexp.MustCompile(`^(\S+) is (\w+) \((closed|closed: .+)\) → (before|after|run|skip)(?: → (\S+)| anyway|: no open day within (\d+) days \(max shift\))?$`)
	explainOffset   = regexp.MustCompile(`^offset ([+−]\d+) open days? → (\S+)$`)
	explainStart    = regexp.MustCompile(`^starts? (.+?)( \(base time\))?(?:, repeated every (\S+) until (\S+))?$`)
	explainPicked   = regexp.MustCompile(`^(.+?)(?: of ((?:business )?month \S+(?: \(starts \S+, named by its (?:start|end) month\))?|the week \S+|\S+ \S+))? → (\S+)$`)
	explainNth      = regexp.MustCompile(`^(1st|2nd|3rd|4th|5th|last) (\w+day)$`)
	explainDay      = regexp.MustCompile(`^day (\d+)$`)
	explainBefore   = regexp.MustCompile(`^(\d+) days before the last day$`)
	explainOpen     = regexp.MustCompile(`^open day (\d+)$`)
	explainOpenEnd  = regexp.MustCompile(`^open day (\d+) from the end$`)
	explainPeriod   = regexp.MustCompile(`^(month|week|year) (\S+)$`)
	explainBizMon   = regexp.MustCompile(`^business month (\S+) \(starts (\S+), named by its (start|end) month\)$`)
	explainEvery    = regexp.MustCompile(`^every (?:(\d+) )?(day|week|month|year)s? from (\S+)$`)
	explainWeekdays = regexp.MustCompile(`^weekdays (.+)$`)
)

func explainClause(ctx context.Context, lang, c string) string {
	if m := explainRunNow.FindStringSubmatch(c); m != nil {
		return T(ctx, "explain.runnow", m[1], m[2])
	}
	if m := explainClosed.FindStringSubmatch(c); m != nil {
		why := T(ctx, "explain.closed")
		if reason, ok := strings.CutPrefix(m[3], "closed: "); ok {
			why += ": " + reason
		}
		out := T(ctx, "explain.is", m[1], weekdayName(ctx, lang, m[2]), why) + " → " + T(ctx, "explain.closed."+m[4])
		switch {
		case strings.HasSuffix(c, " anyway"):
			out += T(ctx, "explain.anyway")
		case m[6] != "":
			out += T(ctx, "explain.maxshift", m[6])
		case m[5] != "":
			out += " → " + m[5]
		}
		return out
	}
	if m := explainOffset.FindStringSubmatch(c); m != nil {
		return T(ctx, "explain.offset", m[1], m[2])
	}
	if m := explainStart.FindStringSubmatch(c); m != nil {
		out := T(ctx, "explain.start", m[1])
		if m[2] != "" {
			out = T(ctx, "explain.start.base", m[1])
		}
		if m[3] != "" {
			out += T(ctx, "explain.repeat", m[3], m[4])
		}
		return out
	}
	if out, ok := explainDrop(ctx, lang, c); ok {
		return out
	}
	if m := explainPicked.FindStringSubmatch(c); m != nil {
		cand, ok := explainCandidate(ctx, lang, m[1])
		if !ok {
			return c
		}
		if m[2] != "" {
			per, ok := explainPeriodText(ctx, m[2])
			if !ok {
				return c
			}
			return T(ctx, "explain.picked.of", per, cand, m[3])
		}
		return T(ctx, "explain.picked", cand, m[3])
	}
	return c
}

// explainPeriodText says the period a candidate was picked in.
func explainPeriodText(ctx context.Context, per string) (string, bool) {
	if p := explainBizMon.FindStringSubmatch(per); p != nil {
		return T(ctx, "explain.period.business."+p[3], p[1], p[2]), true
	}
	if from, to, ok := strings.Cut(strings.TrimPrefix(per, "the week "), ".."); ok && strings.HasPrefix(per, "the week ") {
		return T(ctx, "explain.period.theweek", from, to), true
	}
	if p := explainPeriod.FindStringSubmatch(per); p != nil {
		return T(ctx, "explain.period."+p[1], p[2]), true
	}
	return "", false
}

// explainDrop says the clauses that end a dropped candidate or note
// another rule; ok is false when c is none of them.
func explainDrop(ctx context.Context, lang, c string) (string, bool) {
	if m := explainMissing.FindStringSubmatch(c); m != nil {
		cand, ok := explainCandidate(ctx, lang, m[1])
		why, ok2 := explainWhyMissing(ctx, lang, m[3])
		if !ok || !ok2 {
			return "", false
		}
		if m[2] != "" {
			per, ok := explainPeriodText(ctx, m[2])
			if !ok {
				return "", false
			}
			cand = T(ctx, "explain.of", per, cand)
		}
		return T(ctx, "explain.missing", cand, why), true
	}
	if m := explainCalm.FindStringSubmatch(c); m != nil {
		cand, ok := explainCandidate(ctx, lang, m[1])
		why, ok2 := explainWhyMissing(ctx, lang, m[2])
		if !ok || !ok2 {
			return "", false
		}
		return cand + ": " + why, true
	}
	for _, d := range explainDrops {
		if m := d.re.FindStringSubmatch(c); m != nil {
			args := make([]any, len(m)-1)
			for i, a := range m[1:] {
				args[i] = a
			}
			return T(ctx, d.key, args...), true
		}
	}
	return "", false
}

// explainWhyMissing says why a candidate does not exist.
func explainWhyMissing(ctx context.Context, lang, s string) (string, bool) {
	if m := explainNoNth.FindStringSubmatch(s); m != nil {
		if _, ok := lookup(lang, "explain.cand.nth."+m[1]); !ok {
			return "", false
		}
		return T(ctx, "explain.why.nonth", T(ctx, "explain.cand.nth."+m[1], weekdayName(ctx, lang, m[2]))), true
	}
	for _, d := range explainWhys {
		if m := d.re.FindStringSubmatch(s); m != nil {
			return T(ctx, d.key, m[1]), true
		}
	}
	return "", false
}

var (
	explainMissing = regexp.MustCompile(`^(.+?)(?: of ((?:business )?month \S+(?: \(starts \S+, named by its (?:start|end) month\))?|the week \S+|\S+ \S+))?: does not exist \((.+)\)$`)
	explainCalm    = regexp.MustCompile(`^(.+?): (\S+ does not exist)$`)
	explainNoNth   = regexp.MustCompile(`^the month has no (1st|2nd|3rd|4th|5th) (\w+day)$`)
	explainWhys    = []struct {
		re  *regexp.Regexp
		key string
	}{
		{regexp.MustCompile(`^the month has (\d+) days$`), "explain.why.days"},
		{regexp.MustCompile(`^it has (\d+) open days$`), "explain.why.opendays"},
		{regexp.MustCompile(`^(\S+) does not exist$`), "explain.why.date"},
	}
	explainDrops = []struct {
		re  *regexp.Regexp
		key string
	}{
		{regexp.MustCompile(`^(\S+) is excluded$`), "explain.excluded"},
		{regexp.MustCompile(`^(\S+) is excluded by (.+)$`), "explain.excluded.by"},
		{regexp.MustCompile(`^exclusive with (\S+), planned on (\S+)$`), "explain.exclusive"},
		{regexp.MustCompile(`^(\S+) is outside the validity period (\S*)\.\.(\S*)$`), "explain.validity"},
		{regexp.MustCompile(`^also planned by rule (\S+) from (\S+)$`), "explain.alsoplanned"},
		{regexp.MustCompile(`^offset ([+−]\d+) open days?: no open day found$`), "explain.offset.none"},
	}
)

// explainCandidate says a rule's candidate clause (plan's describe).
func explainCandidate(ctx context.Context, lang, s string) (string, bool) {
	switch s {
	case "last day", "last open day", "every day", "listed date":
		return T(ctx, "explain.cand."+s), true
	}
	if m := explainDay.FindStringSubmatch(s); m != nil {
		return T(ctx, "explain.cand.day", m[1]), true
	}
	if m := explainBefore.FindStringSubmatch(s); m != nil {
		return T(ctx, "explain.cand.before", m[1]), true
	}
	if m := explainOpenEnd.FindStringSubmatch(s); m != nil {
		return T(ctx, "explain.cand.openend", m[1]), true
	}
	if m := explainOpen.FindStringSubmatch(s); m != nil {
		return T(ctx, "explain.cand.open", m[1]), true
	}
	if m := explainEvery.FindStringSubmatch(s); m != nil {
		n := m[1]
		if n == "" {
			n = "1"
		}
		return T(ctx, "explain.cand.every."+m[2], m[3], n), true
	}
	if m := explainWeekdays.FindStringSubmatch(s); m != nil {
		names := strings.Split(m[1], ", ")
		for i, w := range names {
			names[i] = weekdayName(ctx, lang, w)
		}
		return T(ctx, "explain.cand.weekdays", strings.Join(names, "・")), true
	}
	if m := explainNth.FindStringSubmatch(s); m != nil {
		if _, ok := lookup(lang, "explain.weekday."+m[2]); !ok {
			return "", false
		}
		return T(ctx, "explain.cand.nth."+m[1], weekdayName(ctx, lang, m[2])), true
	}
	return "", false
}

func weekdayName(ctx context.Context, lang, wd string) string {
	if _, ok := lookup(lang, "explain.weekday."+wd); !ok {
		return wd
	}
	return T(ctx, "explain.weekday."+wd)
}

// explainMessages are the Japanese clauses of run explanations; English
// is the stored text itself.
var explainMessages = map[string]map[string]string{
	"en": {},
	"ja": {
		"explain.sep":                   "。",
		"explain.runnow":                "%s が業務日 %s の即時実行を指示",
		"explain.closed":                "休業日",
		"explain.is":                    "%s は%s(%s)",
		"explain.closed.before":         "前の営業日へ",
		"explain.closed.after":          "後の営業日へ",
		"explain.closed.run":            "そのまま実行",
		"explain.of":                    "%s の%s",
		"explain.missing":               "%s は存在しない(%s)",
		"explain.why.days":              "その月は %s 日まで",
		"explain.why.opendays":          "営業日は %s 日のみ",
		"explain.why.date":              "%s は存在しない",
		"explain.why.nonth":             "その月に%sはない",
		"explain.excluded":              "%s は除外日",
		"explain.excluded.by":           "%s は %s により除外",
		"explain.exclusive":             "%s と排他(%s に計画済み)",
		"explain.validity":              "%s は有効期間 %s..%s の外",
		"explain.alsoplanned":           "ルール %s でも %s から計画",
		"explain.offset.none":           "%s 営業日ずらす: 営業日が見つからない",
		"explain.closed.skip":           "スキップ",
		"explain.maxshift":              ": %s 日以内に営業日なし(最大移動日数)",
		"explain.repeat":                "、%s ごとに %s まで繰り返し",
		"explain.period.business.start": "業務月 %s(%s 開始、開始月で命名)",
		"explain.period.business.end":   "業務月 %s(%s 開始、終了月で命名)",
		"explain.period.theweek":        "%s〜%s の週",
		"explain.cand.every.day":        "%[1]s から %[2]s 日ごと",
		"explain.cand.every.week":       "%[1]s から %[2]s 週ごと",
		"explain.cand.every.month":      "%[1]s から %[2]s か月ごと",
		"explain.cand.every.year":       "%[1]s から %[2]s 年ごと",
		"explain.cand.weekdays":         "曜日 %s",
		"explain.cand.listed date":      "指定日",
		"explain.weekday.mon":           "月",
		"explain.weekday.tue":           "火",
		"explain.weekday.wed":           "水",
		"explain.weekday.thu":           "木",
		"explain.weekday.fri":           "金",
		"explain.weekday.sat":           "土",
		"explain.weekday.sun":           "日",
		"explain.anyway":                "(休業日でも実行)",
		"explain.offset":                "%s 営業日ずらす → %s",
		"explain.start":                 "開始 %s",
		"explain.start.base":            "開始 %s(基準時刻)",
		"explain.picked":                "%s → %s",
		"explain.picked.of":             "%s の%s → %s",
		"explain.period.month":          "%s 月",
		"explain.period.week":           "%s の週",
		"explain.period.year":           "%s 年",
		"explain.cand.day":              "%s 日",
		"explain.cand.last day":         "末日",
		"explain.cand.before":           "末日の %s 日前",
		"explain.cand.open":             "第 %s 営業日",
		"explain.cand.last open day":    "最終営業日",
		"explain.cand.openend":          "末尾から第 %s 営業日",
		"explain.cand.every day":        "毎日",
		"explain.cand.nth.1st":          "第 1 %s",
		"explain.cand.nth.2nd":          "第 2 %s",
		"explain.cand.nth.3rd":          "第 3 %s",
		"explain.cand.nth.4th":          "第 4 %s",
		"explain.cand.nth.5th":          "第 5 %s",
		"explain.cand.nth.last":         "最終%s",
		"explain.weekday.Sunday":        "日曜日",
		"explain.weekday.Monday":        "月曜日",
		"explain.weekday.Tuesday":       "火曜日",
		"explain.weekday.Wednesday":     "水曜日",
		"explain.weekday.Thursday":      "木曜日",
		"explain.weekday.Friday":        "金曜日",
		"explain.weekday.Saturday":      "土曜日",
	},
}
