package views

import (
	"context"
	"strings"
	"testing"
)

// Every English key of the core and admin catalogs has a Japanese message
// with the same format verbs, and no Japanese key lacks an English one.
func TestAdminAndCoreCatalogsAreComplete(t *testing.T) {
	for name, cat := range map[string]map[string]map[string]string{"core": coreMessages, "admin": adminMessages} {
		for key, en := range cat["en"] {
			ja, ok := cat["ja"][key]
			if !ok || ja == "" {
				t.Errorf("%s: %q has no Japanese message", name, key)
				continue
			}
			if verbs(en) != verbs(ja) {
				t.Errorf("%s: %q: format verbs differ: en %q, ja %q", name, key, en, ja)
			}
		}
		for key := range cat["ja"] {
			if _, ok := cat["en"][key]; !ok {
				t.Errorf("%s: %q is only in Japanese", name, key)
			}
		}
	}
}

// verbs counts the format verbs of a message.
func verbs(s string) int { return strings.Count(s, "%") - 2*strings.Count(s, "%%") }

func TestRoleNamesTranslate(t *testing.T) {
	ctx := WithPage(context.Background(), PageContext{Lang: "ja"})
	for role, want := range map[string]string{"admin": "管理者", "designer": "設計者", "operator": "運用者", "viewer": "参照者"} {
		if got := T(ctx, "role."+role); got != want {
			t.Errorf("role.%s in Japanese = %q, want %q", role, got, want)
		}
	}
	if got := T(ctx, "admin.tokens.revoke.confirm", "ci", "bob"); got != `bob のトークン "ci" を失効させますか？このトークンを使うパイプラインは直ちに動かなくなります。` {
		t.Errorf("argument order in Japanese: %q", got)
	}
}
