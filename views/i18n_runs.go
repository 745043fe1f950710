package views

// runMessages holds the messages of the day schedule and the generation
// page's log viewer (en, ja).
var runMessages = map[string]map[string]string{
	"en": {
		"ops.sched.summary":         "runs: %d · jobnets: %d",
		"ops.sched.now":             "now",
		"ops.sched.focus":           "Failed, running and next",
		"ops.sched.focusmore":       "and %d more (see the jobnets below)",
		"ops.sched.next":            "next start",
		"ops.log.attempts":          "Attempts",
		"ops.log.truncated":         "The first %s of this log are not shown; this is its end.",
		"ops.log.whole":             "Download the whole log",
		"ops.log.skipped":           "[koyomi: %s skipped to keep up with the job; the download has them]",
		"gen.retried":               "retried",
		"account.timezone":          "Time zone",
		"account.timezone.calendar": "each calendar's zone",
		"account.timezone.help":     "Every time is shown in this zone with its name (empty: in the zone of the calendar a page is about). Now: %s.",
	},
	"ja": {
		"ops.sched.summary":         "%d件（ジョブネット%d個）",
		"ops.sched.now":             "現在",
		"ops.sched.focus":           "異常・実行中・次に開始",
		"ops.sched.focusmore":       "ほか%d件（下のジョブネット別を参照）",
		"ops.sched.next":            "次の開始",
		"ops.log.attempts":          "試行",
		"ops.log.truncated":         "このログの先頭%sは表示していません（末尾を表示中）。",
		"ops.log.whole":             "ログ全体をダウンロード",
		"ops.log.skipped":           "[koyomi: 追いつくため%sを飛ばしました。ダウンロードには含まれます]",
		"gen.retried":               "再試行",
		"account.timezone":          "タイムゾーン",
		"account.timezone.calendar": "各カレンダーのタイムゾーン",
		"account.timezone.help":     "すべての時刻をこのタイムゾーンで、名前を付けて表示します（空欄: 各ページのカレンダーのタイムゾーン）。現在: %s",
	},
}
