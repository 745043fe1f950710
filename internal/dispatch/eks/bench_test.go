package eks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

func BenchmarkPodStatus(b *testing.B) {
	p := podWith(corev1.PodFailed, &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error", StartedAt: mt(t0), FinishedAt: mt(t0.Add(time.Minute))}})
	for b.Loop() {
		_ = PodStatus(p, t0, lim)
	}
}

// BenchmarkStatusFromCache measures Status of one of 1000 running jobs
// served by the shared informer cache (no API call per Status).
func BenchmarkStatusFromCache(b *testing.B) {
	ctx := context.Background()
	e, err := New(Config{Connections: []Connection{{Name: "c", Client: fake.NewClientset(), Namespace: "batch"}}})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	hs := make([]dispatch.Handle, 1000)
	for i := range hs {
		r := request(jobnet.EKSSpec{Image: "busybox"})
		r.Key = fmt.Sprintf("g1-job-%d", i)
		if hs[i], err = e.Start(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	w := e.conns["c"].watchers["batch"]
	for len(w.podInf.GetStore().List()) < len(hs) {
		time.Sleep(time.Millisecond)
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := e.Status(ctx, hs[i%len(hs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkKeepLog measures writing a 64 MiB pod log to its kept file in
// 32 KiB pieces (what io.Copy hands over) under a 16 MiB cap, holes punched.
func BenchmarkKeepLog(b *testing.B) {
	piece := make([]byte, 32<<10)
	for i := range piece {
		piece[i] = 'x'
		if i%80 == 79 {
			piece[i] = '\n'
		}
	}
	dir := b.TempDir()
	b.SetBytes(64 << 20)
	for b.Loop() {
		f, err := os.Create(filepath.Join(dir, "log"))
		if err != nil {
			b.Fatal(err)
		}
		w := &cappedWriter{f: f, max: 16 << 20}
		for range (64 << 20) / len(piece) {
			if _, err := w.Write(piece); err != nil {
				b.Fatal(err)
			}
		}
		w.apply()
		_ = f.Close()
	}
}

// BenchmarkReadKeptLog measures reading a kept 64 MiB log (16 MiB cap)
// from its start in LogLimitDefault chunks, as the viewer and the API do.
func BenchmarkReadKeptLog(b *testing.B) {
	dir := b.TempDir()
	e := &Executor{cfg: Config{LogDir: dir}}
	if err := os.MkdirAll(e.archiveDir("ns", "p"), 0o750); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(filepath.Join(e.archiveDir("ns", "p"), archiveLogFile))
	if err != nil {
		b.Fatal(err)
	}
	w := &cappedWriter{f: f, max: 16 << 20}
	line := []byte(strings.Repeat("y", 79) + "\n")
	for range (64 << 20) / len(line) {
		_, _ = w.Write(line)
	}
	w.apply()
	_ = f.Close()
	rec := archiveRecord{Size: w.size, Cut: w.cut}
	b.SetBytes(16 << 20)
	for b.Loop() {
		var off int64
		for {
			c, err := e.readArchive("ns", "p", rec, off, LogLimitDefault)
			if err != nil {
				b.Fatal(err)
			}
			if off, err = ParseCursor(c.Next); err != nil {
				b.Fatal(err)
			}
			if !c.More {
				break
			}
		}
	}
}
