package jobnet

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// bigJobnet is a 500-unit chain of 10-unit fan-outs.
func bigJobnet() *Jobnet {
	j := &Jobnet{Name: "big", Folder: "f"}
	for i := 0; i < 500; i++ {
		j.Units = append(j.Units, localJob(fmt.Sprintf("u%03d", i), "echo"))
		if i%10 != 0 {
			j.Edges = append(j.Edges, Edge{From: fmt.Sprintf("u%03d", i-i%10), To: fmt.Sprintf("u%03d", i)})
		} else if i > 0 {
			j.Edges = append(j.Edges, Edge{From: fmt.Sprintf("u%03d", i-1), To: fmt.Sprintf("u%03d", i)})
		}
	}
	return j
}

func BenchmarkParseExamples(b *testing.B) {
	var data [][]byte
	files, _ := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	for _, f := range files {
		d, err := os.ReadFile(f)
		require.NoError(b, err)
		data = append(data, d)
	}
	for b.Loop() {
		for i, d := range data {
			if _, err := ParseFile(files[i], d); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkValidate500Units(b *testing.B) {
	bundle := validBundle()
	bundle.Jobnets[0] = *bigJobnet()
	bundle.Jobnets[0].Folder = "f"
	bundle.Jobnets[0].Rules = []Rule{{Kind: RuleDaily}}
	require.Empty(b, Validate(bundle, Known{}))
	for b.Loop() {
		Validate(bundle, Known{})
	}
}

func BenchmarkHash500Units(b *testing.B) {
	j := bigJobnet()
	for b.Loop() {
		Hash(j)
	}
}
