package eks

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

func TestObjectName(t *testing.T) {
	long := strings.Repeat("a", 30) + "-" + strings.Repeat("b", 33) // 64
	tests := []struct {
		key, want string
	}{
		{"r1-load-extract-1", "koyomi-r1-load-extract-1"},
		{strings.Repeat("x", 56), "koyomi-" + strings.Repeat("x", 56)},
		{long, "koyomi-" + long[:45] + "-" + "c4d3a8d9e8"},
	}
	for _, tt := range tests {
		got, err := ObjectName(tt.key)
		require.NoError(t, err)
		require.LessOrEqual(t, len(got), 63)
		require.Empty(t, validation.IsDNS1123Label(got))
		if strings.HasPrefix(tt.want, "koyomi-"+long[:45]+"-") {
			require.True(t, strings.HasPrefix(got, "koyomi-"+long[:45]+"-"), got)
			require.Len(t, got, 63)
			continue
		}
		require.Equal(t, tt.want, got)
	}
	a, _ := ObjectName(long)
	b, _ := ObjectName(long[:63] + "c")
	require.NotEqual(t, a, b, "keys that share a long prefix get different names")

	for _, bad := range []string{"", "-a", "a-", "A", "a_b", strings.Repeat("a", 65)} {
		_, err := ObjectName(bad)
		require.True(t, errors.Is(err, fault.ErrInvalid), "%q: %v", bad, err)
	}
}

func TestLabelValue(t *testing.T) {
	require.Equal(t, "gen-20261124", LabelValue("gen-20261124"))
	u := LabelValue("load/extract")
	require.True(t, strings.HasPrefix(u, "load.extract-"), u)
	require.NotEqual(t, u, LabelValue("load.extract"), "sanitised values do not collide with real ones")
	for _, s := range []string{"load/extract", "/x/", strings.Repeat("é", 40), strings.Repeat("a", 80), "---", ""} {
		v := LabelValue(s)
		require.Empty(t, validation.IsValidLabelValue(v), "%q -> %q", s, v)
	}
}

func FuzzLabelValue(f *testing.F) {
	for _, s := range []string{"load/extract", "a", "", "日本語", strings.Repeat("-", 70)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := LabelValue(s)
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			t.Fatalf("%q -> %q: %v", s, v, errs)
		}
	})
}
