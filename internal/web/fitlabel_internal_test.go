package web

import "testing"

func TestFitLabel(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"extract", "extract"},
		{"売上集計", "売上集計"},
		{"a-rather-long-unit-name-that-overflows", "a-rather-long-unit…"},
		{"日次売上レポート作成と配信処理", "日次売上レポート作…"},
	} {
		if got := fitLabel(c.in, 140); got != c.want {
			t.Errorf("fitLabel(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
