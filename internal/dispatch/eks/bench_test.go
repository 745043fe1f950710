package eks

import (
	"context"
	"fmt"
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
