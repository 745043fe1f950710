package views

// forecastMessages holds the messages of the forecast (en, ja): predicted
// ends, deadlines, the critical path and the duration history.
var forecastMessages = map[string]map[string]string{
	"en": {
		"fc.end":            "Predicted end",
		"fc.ended":          "Ended",
		"fc.deadline":       "Deadline",
		"fc.slack":          "Slack",
		"fc.critical":       "Critical path",
		"fc.risk.ok":        "on time",
		"fc.risk.at_risk":   "at risk",
		"fc.risk.missed":    "missed",
		"fc.legend":         "predicted remainder; the red line is the deadline",
		"fc.durations":      "Run durations",
		"fc.durations.sub":  "Each unit's successful runs over the last %d business dates, oldest left; the line is the p90 the forecast expects.",
		"fc.durations.none": "No successful runs yet.",
		"fc.expected":       "expected (p90)",
		"fc.runs":           "runs",
	},
	"ja": {
		"fc.end":            "終了予測",
		"fc.ended":          "終了",
		"fc.deadline":       "期限",
		"fc.slack":          "余裕",
		"fc.critical":       "クリティカルパス",
		"fc.risk.ok":        "期限内",
		"fc.risk.at_risk":   "遅延見込み",
		"fc.risk.missed":    "期限超過",
		"fc.legend":         "終了までの予測、赤線は期限",
		"fc.durations":      "実行時間の推移",
		"fc.durations.sub":  "直近 %d 業務日の正常終了した実行（左が古い）。線は予測に使う p90。",
		"fc.durations.none": "正常終了した実行はまだありません。",
		"fc.expected":       "予測値（p90）",
		"fc.runs":           "回",
	},
}
