package views

import (
	"context"
	"fmt"
)

// T translates a message key into the request's language, falling back to
// English and then to the key itself. Extra args are fmt.Sprintf arguments.
func T(ctx context.Context, key string, args ...any) string {
	lang := Page(ctx).Lang
	msg, ok := lookup(lang, key)
	if !ok {
		if msg, ok = lookup("en", key); !ok {
			msg = key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(msg, args...)
	}
	return msg
}

// catalogs are the message tables, one per area of the GUI (each in its own
// file: i18n_design.go, i18n_calendar.go, i18n_admin.go, i18n_ops.go).
var catalogs = []map[string]map[string]string{coreMessages, designMessages, calendarMessages, adminMessages, opsMessages, alertMessages, connectionMessages,
	forecastMessages, runMessages, auditMessages, explainMessages}

func lookup(lang, key string) (string, bool) {
	for _, c := range catalogs {
		if m, ok := c[lang][key]; ok {
			return m, true
		}
	}
	return "", false
}

var coreMessages = map[string]map[string]string{
	"en": {
		"app.name":           "Koyomi",
		"app.tagline":        "Business-calendar job management",
		"nav.today":          "Today",
		"nav.schedule":       "Schedule",
		"nav.jobnets":        "Jobnets",
		"nav.calendars":      "Calendars",
		"nav.alerts":         "Alerts",
		"nav.admin":          "Admin",
		"nav.account":        "Account",
		"nav.logout":         "Log out",
		"login.title":        "Log in",
		"login.username":     "Username",
		"login.password":     "Password",
		"login.submit":       "Log in",
		"login.failed":       "Wrong username or password.",
		"login.throttled":    "Too many failed attempts. Wait a minute and try again.",
		"account.title":      "Account",
		"account.password":   "Change password",
		"account.current":    "Current password",
		"account.new":        "New password",
		"account.language":   "Language",
		"account.save":       "Save",
		"account.tokens":     "API tokens",
		"account.token.name": "Token name",
		"account.token.new":  "Create token",
		"account.token.once": "Copy this token now; it is not shown again:",
		"common.none":        "Nothing here yet.",
		"common.delete":      "Delete",
		"common.save":        "Save",
		"common.cancel":      "Cancel",
		"common.name":        "Name",
		"common.created":     "Created",
		"common.lastused":    "Last used",
		"error.title":        "Something went wrong",
		"error.back":         "Back to Today",
	},
	"ja": {
		"app.name":           "Koyomi",
		"app.tagline":        "業務カレンダー型ジョブ管理",
		"nav.today":          "本日",
		"nav.schedule":       "スケジュール",
		"nav.jobnets":        "ジョブネット",
		"nav.calendars":      "カレンダー",
		"nav.alerts":         "通知",
		"nav.admin":          "管理",
		"nav.account":        "アカウント",
		"nav.logout":         "ログアウト",
		"login.title":        "ログイン",
		"login.username":     "ユーザー名",
		"login.password":     "パスワード",
		"login.submit":       "ログイン",
		"login.failed":       "ユーザー名またはパスワードが違います。",
		"login.throttled":    "失敗が続いたため一時的にロックしました。1分後に再試行してください。",
		"account.title":      "アカウント",
		"account.password":   "パスワード変更",
		"account.current":    "現在のパスワード",
		"account.new":        "新しいパスワード",
		"account.language":   "言語",
		"account.save":       "保存",
		"account.tokens":     "APIトークン",
		"account.token.name": "トークン名",
		"account.token.new":  "トークンを作成",
		"account.token.once": "このトークンは二度と表示されません。今コピーしてください：",
		"common.none":        "まだ何もありません。",
		"common.delete":      "削除",
		"common.save":        "保存",
		"common.cancel":      "キャンセル",
		"common.name":        "名前",
		"common.created":     "作成日時",
		"common.lastused":    "最終使用",
		"error.title":        "エラーが発生しました",
		"error.back":         "本日の画面へ戻る",
	},
}
