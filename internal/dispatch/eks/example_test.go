package eks

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// The shipped example decodes strictly and every eks job in it builds a
// valid pod or Job.
func TestExampleNightlyEKS(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "cloud", "eks", "nightly-eks.yaml"))
	require.NoError(t, err)
	var doc struct {
		Kind          string `yaml:"kind"`
		jobnet.Jobnet `yaml:",inline"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&doc))
	require.Equal(t, "Jobnet", doc.Kind)
	n := 0
	for _, u := range doc.Units {
		if u.Job == nil || u.Job.Type != jobnet.JobEKS {
			continue
		}
		n++
		req := dispatch.Request{Key: "g1-" + u.Name + "-1", Unit: u.Name, Job: *u.Job, Env: u.Job.Env}
		mode, err := specMode(u.Job.EKS)
		require.NoError(t, err, u.Name)
		_, err = specCleanup(u.Job.EKS)
		require.NoError(t, err, u.Name)
		if mode == ModeJob {
			_, err = BuildJob("koyomi-"+req.Key, "batch", req)
		} else {
			_, err = BuildPod("koyomi-"+req.Key, "batch", req)
		}
		require.NoError(t, err, u.Name)
	}
	require.Equal(t, 3, n)
}
