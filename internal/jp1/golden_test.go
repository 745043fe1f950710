package jp1

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// Every corpus file's Koyomi YAML and report are kept as golden files, so a
// change in the mapping shows up in review.
func TestCorpusGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.jp1")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, rep := load(t, filepath.Base(f), Options{})
			yaml, err := jobnet.Encode(b)
			require.NoError(t, err)
			var out bytes.Buffer
			rep.Write(&out, true)
			got := string(yaml) + "---\n# report\n" + prefixLines(out.String(), "# ")
			golden := strings.TrimSuffix(f, ".jp1") + ".golden.yaml"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			require.Equal(t, string(want), got, "run with -update after an intended change")
		})
	}
}

func prefixLines(s, p string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i := range lines {
		lines[i] = p + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}
