package views

import (
	"bytes"
	"context"
	"regexp"
	"testing"
)

var latinWord = regexp.MustCompile(`[A-Za-z]{3,}`)

// Run explanations as internal/plan writes them (taken from its golden
// files) are said in Japanese clause by clause, and kept as they are in
// English.
func TestExplanationInJapanese(t *testing.T) {
	ja := WithPage(context.Background(), PageContext{Lang: "ja"})
	en := WithPage(context.Background(), PageContext{Lang: "en"})
	for in, want := range map[string]string{
		"day 15 of month 2026-02 → 2026-02-15; 2026-02-15 is Sunday (closed) → before → 2026-02-13; offset −2 open days → 2026-02-10; start 21:00": "2026-02 月 の15 日 → 2026-02-15。2026-02-15 は日曜日(休業日) → 前の営業日へ → 2026-02-13。−2 営業日ずらす → 2026-02-10。開始 21:00",
		"run now by admin for business date 2026-12-04":                                                               "admin が業務日 2026-12-04 の即時実行を指示",
		"every day → 2026-01-05; start 25:30":                                                                         "毎日 → 2026-01-05。開始 25:30",
		"last open day of the week 2026-01-05..2026-01-11 → 2026-01-09; start 18:00 (base time)":                      "2026-01-05〜2026-01-11 の週 の最終営業日 → 2026-01-09。開始 18:00(基準時刻)",
		"every 3 months from 2026-01-10 → 2026-04-10; starts 18:00, repeated every 2h until 22:00":                    "2026-01-10 から 3 か月ごと → 2026-04-10。開始 18:00、2h ごとに 22:00 まで繰り返し",
		"weekdays mon, fri → 2026-01-05":                                                                              "曜日 月・金 → 2026-01-05",
		"last Friday of month 2026-01 → 2026-01-30":                                                                   "2026-01 月 の最終金曜日 → 2026-01-30",
		"2026-12-31 is Thursday (closed: override 'year-end closure') → after: no open day within 3 days (max shift)": "2026-12-31 は木曜日(休業日: override 'year-end closure') → 後の営業日へ: 3 日以内に営業日なし(最大移動日数)",
		"day 31 of business month 2026-01 (starts 12-21, named by its end month) → 2026-01-20":                        "業務月 2026-01(12-21 開始、終了月で命名) の31 日 → 2026-01-20",
		"day 31 of month 2026-02: does not exist (the month has 28 days)":                                             "2026-02 月 の31 日 は存在しない(その月は 28 日まで)",
		"day 31 of month 2026-06 → 2026-06-30; 2026-06-20 is Saturday (closed) → skip":                                "2026-06 月 の31 日 → 2026-06-30。2026-06-20 は土曜日(休業日) → スキップ",
		"day 13 of month 2026-01 → 2026-01-13; exclusive with hr/payroll, planned on 2026-01-13":                      "2026-01 月 の13 日 → 2026-01-13。hr/payroll と排他(2026-01-13 に計画済み)",
		"every 3 months from 2026-01-10 → 2026-10-10; 2026-10-10 is outside the validity period ..2026-09-30":         "2026-01-10 から 3 か月ごと → 2026-10-10。2026-10-10 は有効期間 ..2026-09-30 の外",
	} {
		if got := Explanation(ja, in); got != want {
			t.Errorf("Japanese of %q\n got %q\nwant %q", in, got, want)
		}
		if got := Explanation(en, in); got != in {
			t.Errorf("English of %q changed to %q", in, got)
		}
	}
	// A clause without a fixed phrase stays as stored.
	if got := Explanation(ja, "some new clause; start 09:00"); got != "some new clause。開始 09:00" {
		t.Errorf("unknown clause: %q", got)
	}
}

func TestAuditInJapanese(t *testing.T) {
	ja := WithPage(context.Background(), PageContext{Lang: "ja"})
	en := WithPage(context.Background(), PageContext{Lang: "en"})
	for _, a := range []string{"apply", "login", "run.now", "unit.mark", "alert.rule.update", "secrets.rotate", "calendar.import"} {
		if got := AuditAction(ja, a); latinWord.MatchString(got) {
			t.Errorf("action %s in Japanese: %q", a, got)
		}
		if got := AuditAction(en, a); got != a {
			t.Errorf("action %s in English: %q", a, got)
		}
	}
	if got := AuditAction(ja, "some.future.action"); got != "some.future.action" {
		t.Errorf("unknown action: %q", got)
	}
	for in, want := range map[string]string{
		"created (version 3)":                                                 "作成(バージョン 3)",
		"role operator disabled true":                                         "ロール operator、無効化",
		"business date 2026-12-04; params A=1":                                "業務日 2026-12-04、パラメーター A=1",
		"mode from; reset a, b; marked ended normally c":                      "方式 from、リセット: a, b、正常終了とみなす: c",
		"jp.csv: 3 day(s) imported, 1 day(s) changed, 2 planned run(s) moved": "jp.csv: 3 日を取り込み、1 日が変更、計画済みの実行 2 件が移動",
		"as bypassed":          "未実行終了に変更",
		"the network was down": "the network was down",
	} {
		if got := AuditDetail(ja, in); got != want {
			t.Errorf("detail %q in Japanese: got %q, want %q", in, got, want)
		}
		if got := AuditDetail(en, in); got != in {
			t.Errorf("detail %q in English: %q", in, got)
		}
	}
}

func TestRichMarksCode(t *testing.T) {
	var b bytes.Buffer
	if err := RichText("run `koyomi admin <x>` now").Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "run <code>koyomi admin &lt;x&gt;</code> now" {
		t.Errorf("got %q", got)
	}
}
