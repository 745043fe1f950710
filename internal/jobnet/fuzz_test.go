package jobnet

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

var positionRE = regexp.MustCompile(`^f\.yaml:[1-9][0-9]*:[1-9][0-9]*$`)

// FuzzParseFile: ParseFile never panics, every finding carries
// file:line:column, and what parses encodes and parses back to its
// normalized form.
func FuzzParseFile(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	cloud, _ := filepath.Glob(filepath.Join(examplesDir, "cloud", "*", "*.yaml"))
	files = append(files, cloud...)
	require.NoError(f, err)
	for _, name := range files {
		data, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte(hashBase))
	f.Add([]byte("kind: Pool\nname: a\n  slots: 1\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("kind: Jobnet\nunits: [{name: a, job: {<<: {type: noop}}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseFile("f.yaml", data)
		if err != nil {
			ps, ok := fault.AsProblems(err)
			require.True(t, ok, "error %v is not Problems", err)
			require.NotEmpty(t, ps)
			for _, p := range ps {
				require.Regexp(t, positionRE, p.Path, p.Message)
			}
			return
		}
		out, err := Encode(b)
		require.NoError(t, err)
		back, err := ParseFile("f.yaml", out)
		require.NoError(t, err, "%s", out)
		require.Equal(t, b.Normalized(), back.Normalized())
		_ = Validate(b, Known{})
	})
}
