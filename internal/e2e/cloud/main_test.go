// Package cloud runs the ECS and EKS example jobnets through the real run
// engine in-process: definitions from examples/ applied with ops.Apply to a
// real store (SQLite and PostgreSQL), their connections pointed at the
// test doubles (ecsfake for ECS and CloudWatch Logs, a real kube-apiserver
// with KWOK for EKS), executors built from the stored connections as the
// server builds them, and a runner.Runner in a goroutine. Generations are
// created with ops.RunNow and killed with ops.Kill.
//
// Per backend it checks a normal end, an abnormal end (one job scripted to
// exit 3: an ecsfake script, a KWOK exit-code annotation), a kill, and a
// crash between the executor's start and the record of its handle: the
// first runner's context is cancelled from inside the executor's Start,
// after the backend accepted the task or pod, so the unit stays starting
// with its dispatch key and no handle; a fresh runner with a fresh executor
// on the same store must re-attach to that execution, not start a second.
//
// The ECS example's last job is a local one; it runs on the noop executor,
// since these tests are about the cloud executors.
package cloud

import (
	"os"
	"testing"

	"github.com/koyomi-dev/koyomi/internal/store/storetest"
	"github.com/koyomi-dev/koyomi/internal/testpeer/kube"
)

var kubeEnv kube.Env

// kubeMain runs the package's tests inside the kube control plane's
// lifetime, and storetest.Main stops the shared PostgreSQL afterwards.
type kubeMain struct{ m *testing.M }

func (k kubeMain) Run() int {
	return kube.Main(k.m, kube.Options{KWOK: true, NamespaceLogs: bigLogNamespaces()}, &kubeEnv)
}

func TestMain(m *testing.M) { os.Exit(storetest.Main(kubeMain{m})) }
