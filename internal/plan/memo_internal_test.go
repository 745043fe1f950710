package plan

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// Every field of jobnet.Rule changes the schedule key (or, for except and
// exclusive_with, stops sharing): a field the key missed would let two
// different schedules share one plan.
func TestScheduleKeyCoversEveryRuleField(t *testing.T) {
	key := func(r jobnet.Rule) (string, bool) {
		b, ok := appendScheduleKey(nil, []jobnet.Rule{r})
		return string(b), ok
	}
	zero, ok := key(jobnet.Rule{})
	require.True(t, ok)
	typ := reflect.TypeFor[jobnet.Rule]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		var r jobnet.Rule
		v := reflect.ValueOf(&r).Elem().Field(i)
		switch v.Kind() {
		case reflect.String:
			v.SetString("x")
		case reflect.Int, reflect.Int32, reflect.Int64:
			v.SetInt(3)
		case reflect.Pointer:
			v.Set(reflect.New(f.Type.Elem()))
		case reflect.Slice:
			v.Set(reflect.MakeSlice(f.Type, 1, 1))
		default:
			t.Fatalf("field %s of kind %s: extend appendScheduleKey and this test", f.Name, v.Kind())
		}
		k, ok := key(r)
		if f.Name == "ExclusiveWith" || f.Name == "Except" {
			require.False(t, ok, f.Name)
			continue
		}
		require.True(t, ok, f.Name)
		if f.Name == "Deadline" {
			// A rule's deadline does not change which runs it plans; the
			// forecast reads it from the definition.
			continue
		}
		require.NotEqual(t, zero, k, "field %s is not in the schedule key", f.Name)
	}
	// Values inside pointers count, not only their presence.
	two := jobnet.Rule{Repeat: &jobnet.Repeat{Every: 60}}
	three := jobnet.Rule{Repeat: &jobnet.Repeat{Every: 60, Until: 1}}
	k2, _ := key(two)
	k3, _ := key(three)
	require.NotEqual(t, k2, k3)
	// Rule order matters: unnamed rules are named by position.
	a, b := jobnet.Rule{Kind: jobnet.RuleDaily}, jobnet.Rule{Kind: jobnet.RuleDay, Day: 1}
	ab, _ := appendScheduleKey(nil, []jobnet.Rule{a, b})
	ba, _ := appendScheduleKey(nil, []jobnet.Rule{b, a})
	require.NotEqual(t, string(ab), string(ba))
}
