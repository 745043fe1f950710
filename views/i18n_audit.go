package views

import (
	"context"
	"regexp"
)

// AuditAction names a stored audit action (user.create, run.now, ...) in
// the request's language; an action without a name shows as stored.
func AuditAction(ctx context.Context, action string) string {
	if _, ok := lookup(Page(ctx).Lang, "audit.action."+action); !ok {
		return action
	}
	return T(ctx, "audit.action."+action)
}

// auditDetails are the fixed phrases of audit details (internal/ops and
// internal/store write them in English). A detail that matches one is
// said again in the request's language from its submatches; any other
// detail (a reason, a delivery state) is shown as stored.
var auditDetails = []struct {
	re  *regexp.Regexp
	key string
}{
	{regexp.MustCompile(`^created$`), "audit.detail.created"},
	{regexp.MustCompile(`^updated$`), "audit.detail.updated"},
	{regexp.MustCompile(`^deleted$`), "audit.detail.deleted"},
	{regexp.MustCompile(`^created \(version (\d+)\)$`), "audit.detail.created.version"},
	{regexp.MustCompile(`^updated \(version (\d+)\)$`), "audit.detail.updated.version"},
	{regexp.MustCompile(`^first admin$`), "audit.detail.firstadmin"},
	{regexp.MustCompile(`^role (\S+)$`), "audit.detail.role"},
	{regexp.MustCompile(`^role (\S+) disabled true$`), "audit.detail.role.disabled.true"},
	{regexp.MustCompile(`^role (\S+) disabled false$`), "audit.detail.role.disabled.false"},
	{regexp.MustCompile(`^disabled true$`), "audit.detail.disabled.true"},
	{regexp.MustCompile(`^disabled false$`), "audit.detail.disabled.false"},
	{regexp.MustCompile(`^business date (\S+)$`), "audit.detail.runnow"},
	{regexp.MustCompile(`^business date (\S+); params (.*)$`), "audit.detail.runnow.params"},
	{regexp.MustCompile(`^copied from (\S+)$`), "audit.detail.copied"},
	{regexp.MustCompile(`^copied from (\S+) with (\d+) jobnet\(s\)$`), "audit.detail.copied.folder"},
	{regexp.MustCompile(`^from (\S+) \(version (\d+); runs kept\)$`), "audit.detail.moved"},
	{regexp.MustCompile(`^renamed from (\S+) with (\d+) jobnet\(s\); runs kept$`), "audit.detail.renamed.folder"},
	{regexp.MustCompile(`^deleted; versions and past runs kept$`), "audit.detail.deleted.jobnet"},
	{regexp.MustCompile(`^(.+): (\d+) day\(s\) imported, (\d+) day\(s\) changed, (\d+) planned run\(s\) moved$`), "audit.detail.imported"},
	{regexp.MustCompile(`^(\d+) resealed, (\d+) already current$`), "audit.detail.resealed"},
	{regexp.MustCompile(`^(aws|kubernetes)$`), "audit.detail.kind"},
	{regexp.MustCompile(`^(aws|kubernetes), secret cleared$`), "audit.detail.kind.cleared"},
	{regexp.MustCompile(`^(aws|kubernetes), secret replaced$`), "audit.detail.kind.replaced"},
	{regexp.MustCompile(`^secrets set: \[(.*)\]$`), "audit.detail.secretsset"},
	{regexp.MustCompile(`^start (.+) → (.+) \((.+)\)$`), "audit.detail.retimed"},
	{regexp.MustCompile(`^start → (.+)$`), "audit.detail.retimed.at"},
	{regexp.MustCompile(`^mode (\S+); reset (.*)$`), "audit.detail.rerun"},
	{regexp.MustCompile(`^mode (\S+); reset (.*); marked ended normally (.*)$`), "audit.detail.rerun.marked"},
	{regexp.MustCompile(`^as ended_normal$`), "audit.detail.mark.ended_normal"},
	{regexp.MustCompile(`^as bypassed$`), "audit.detail.mark.bypassed"},
	{regexp.MustCompile(`^as ended_normal; (.*)$`), "audit.detail.mark.ended_normal.note"},
	{regexp.MustCompile(`^as bypassed; (.*)$`), "audit.detail.mark.bypassed.note"},
}

// AuditDetail says an audit detail in the request's language (see
// auditDetails); in English, or when no fixed phrase matches, it is
// returned as stored.
func AuditDetail(ctx context.Context, detail string) string {
	lang := Page(ctx).Lang
	if lang == "" || lang == "en" {
		return detail
	}
	// Later patterns are the more specific ones ("mode m; reset u;
	// marked ended normally v" before "mode m; reset u"), so they are
	// tried first.
	for i := len(auditDetails) - 1; i >= 0; i-- {
		d := auditDetails[i]
		m := d.re.FindStringSubmatch(detail)
		if m == nil {
			continue
		}
		if _, ok := lookup(lang, d.key); !ok {
			return detail
		}
		sub := m[1:]
		args := make([]any, len(sub))
		for j, s := range sub {
			args[j] = s
		}
		return T(ctx, d.key, args...)
	}
	return detail
}

// auditMessages names audit actions and the fixed phrases of their
// details; English names are the stored action values.
var auditMessages = map[string]map[string]string{
	"en": {},
	"ja": {
		"audit.action.apply":                "定義の適用",
		"audit.action.calendar.import":      "カレンダー取り込み",
		"audit.action.create":               "作成",
		"audit.action.update":               "更新",
		"audit.action.delete":               "削除",
		"audit.action.copy":                 "コピー",
		"audit.action.move":                 "移動",
		"audit.action.login":                "ログイン",
		"audit.action.login.failed":         "ログイン失敗",
		"audit.action.user.create":          "ユーザー作成",
		"audit.action.user.update":          "ユーザー変更",
		"audit.action.user.password":        "パスワード変更",
		"audit.action.user.password.reset":  "パスワード再設定",
		"audit.action.token.create":         "トークン作成",
		"audit.action.token.delete":         "トークン削除",
		"audit.action.token.revoke":         "トークン失効",
		"audit.action.secrets.rotate":       "シークレット再暗号化",
		"audit.action.run.now":              "即時実行",
		"audit.action.run.hold":             "実行の保留",
		"audit.action.run.release":          "実行の保留解除",
		"audit.action.run.kill":             "実行の強制終了",
		"audit.action.run.cancel":           "実行の取り消し",
		"audit.action.run.retime":           "開始時刻の変更",
		"audit.action.run.rerun":            "再実行",
		"audit.action.unit.hold":            "ユニットの保留",
		"audit.action.unit.release":         "ユニットの保留解除",
		"audit.action.unit.kill":            "ユニットの強制終了",
		"audit.action.unit.mark":            "ユニットの状態変更",
		"audit.action.alert.channel.create": "通知先の作成",
		"audit.action.alert.channel.update": "通知先の更新",
		"audit.action.alert.channel.delete": "通知先の削除",
		"audit.action.alert.channel.test":   "通知先のテスト送信",
		"audit.action.alert.rule.create":    "アラートルールの作成",
		"audit.action.alert.rule.update":    "アラートルールの更新",
		"audit.action.alert.rule.delete":    "アラートルールの削除",

		"audit.detail.created":                "作成",
		"audit.detail.updated":                "更新",
		"audit.detail.deleted":                "削除",
		"audit.detail.created.version":        "作成(バージョン %s)",
		"audit.detail.updated.version":        "更新(バージョン %s)",
		"audit.detail.firstadmin":             "最初の管理者",
		"audit.detail.role":                   "ロール %s",
		"audit.detail.role.disabled.true":     "ロール %s、無効化",
		"audit.detail.role.disabled.false":    "ロール %s、有効化",
		"audit.detail.disabled.true":          "無効化",
		"audit.detail.disabled.false":         "有効化",
		"audit.detail.runnow":                 "業務日 %s",
		"audit.detail.runnow.params":          "業務日 %s、パラメーター %s",
		"audit.detail.copied":                 "%s からコピー",
		"audit.detail.copied.folder":          "%s からジョブネット %s 件をコピー",
		"audit.detail.moved":                  "%s から移動(バージョン %s、実行履歴は保持)",
		"audit.detail.renamed.folder":         "%s から名前を変更、ジョブネット %s 件(実行履歴は保持)",
		"audit.detail.deleted.jobnet":         "削除(バージョンと過去の実行は保持)",
		"audit.detail.imported":               "%s: %s 日を取り込み、%s 日が変更、計画済みの実行 %s 件が移動",
		"audit.detail.resealed":               "%s 件を再暗号化、%s 件は現在の鍵のまま",
		"audit.detail.kind":                   "種類 %s",
		"audit.detail.kind.cleared":           "種類 %s、秘密情報を削除",
		"audit.detail.kind.replaced":          "種類 %s、秘密情報を置き換え",
		"audit.detail.secretsset":             "設定された秘密情報: %s",
		"audit.detail.retimed":                "開始 %s → %s (%s)",
		"audit.detail.retimed.at":             "開始 → %s",
		"audit.detail.rerun":                  "方式 %s、リセット: %s",
		"audit.detail.rerun.marked":           "方式 %s、リセット: %s、正常終了とみなす: %s",
		"audit.detail.mark.ended_normal":      "正常終了に変更",
		"audit.detail.mark.bypassed":          "未実行終了に変更",
		"audit.detail.mark.ended_normal.note": "正常終了に変更。%s",
		"audit.detail.mark.bypassed.note":     "未実行終了に変更。%s",
	},
}
