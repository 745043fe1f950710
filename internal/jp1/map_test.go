package jp1

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/plan"
)

// load parses and maps a testdata file and checks the result validates.
func load(t *testing.T, file string, opt Options) (*jobnet.Bundle, *Report) {
	t.Helper()
	data, err := os.ReadFile("testdata/" + file)
	require.NoError(t, err)
	units, err := Parse(file, data)
	require.NoError(t, err)
	b, rep, err := Map(units, opt)
	require.NoError(t, err)
	require.Empty(t, jobnet.Validate(b, jobnet.Known{}))
	return b, rep
}

// planned returns the business dates (and starts) Koyomi plans for a jobnet.
func planned(t *testing.T, b *jobnet.Bundle, path, from, to string) []string {
	t.Helper()
	cat := plan.CatalogFromBundle(b)
	res, err := cat.Plan(calendar.MustParseDate(from), calendar.MustParseDate(to), func(j *jobnet.Jobnet) bool { return j.Path() == path })
	require.NoError(t, err)
	var out []string
	for _, r := range res[path].Runs {
		out = append(out, r.BusinessDate.String()+" "+r.Start.Format("15:04"))
	}
	return out
}

func TestPayrollWorkedExample(t *testing.T) {
	b, rep := load(t, "payroll.jp1", Options{})
	got := planned(t, b, "hr/payroll", "2026-08-01", "2026-08-31")
	require.Equal(t, []string{"2026-08-12 21:00"}, got, strings.Join(got, ","))
	require.Zero(t, rep.Count(Unmapped), rep.Of(Unmapped))
}
