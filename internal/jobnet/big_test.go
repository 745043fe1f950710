package jobnet

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func jobUnit(name string) Unit {
	return Unit{Name: name, Kind: UnitJob, Job: &Job{Type: JobLocal, Local: &LocalSpec{Command: "true"}}}
}

// bigExport is what `koyomi export` writes for 220 jobnets of 100 chained jobs.
func bigExport() *Bundle {
	b := &Bundle{Folders: []Folder{{Name: "bulk", Calendar: "std"}}}
	for n := range 220 {
		j := Jobnet{Name: fmt.Sprintf("net-%03d", n), Folder: "bulk"}
		for u := range 100 {
			j.Units = append(j.Units, jobUnit(fmt.Sprintf("job-%03d", u)))
			if u > 0 {
				j.Edges = append(j.Edges, Edge{From: fmt.Sprintf("job-%03d", u-1), To: fmt.Sprintf("job-%03d", u)})
			}
		}
		b.Jobnets = append(b.Jobnets, j)
	}
	return b
}

// denseJobnet is one jobnet of 1,000 jobs in 10 layers of 100, every job
// of a layer connected to every job of the next: 90,000 edges.
func denseJobnet() *Bundle {
	j := Jobnet{Name: "dense", Folder: "bulk"}
	name := func(l, i int) string { return fmt.Sprintf("l%d-j%03d", l, i) }
	for l := range 10 {
		for i := range 100 {
			j.Units = append(j.Units, jobUnit(name(l, i)))
			if l == 0 {
				continue
			}
			for p := range 100 {
				j.Edges = append(j.Edges, Edge{From: name(l-1, p), To: name(l, i)})
			}
		}
	}
	return &Bundle{Folders: []Folder{{Name: "bulk", Calendar: "std"}}, Jobnets: []Jobnet{j}}
}

// Big definitions survive export and apply: the decoder's bounds are for
// aliases and nesting, not for the size of plain definitions.
func TestBigDefinitionsRoundTrip(t *testing.T) {
	for name, b := range map[string]*Bundle{"220x100": bigExport(), "1000 jobs 90000 edges": denseJobnet()} {
		t.Run(name, func(t *testing.T) {
			data, err := Encode(b)
			require.NoError(t, err)
			got, err := ParseFile("export.yaml", data)
			require.NoError(t, err)
			require.Equal(t, b.Normalized(), got)
			require.Empty(t, Validate(got, Known{Calendars: []string{"std"}}))
		})
	}
}
