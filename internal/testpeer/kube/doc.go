// Package kube starts a real Kubernetes control plane for integration
// tests: etcd 3.7.0 and kube-apiserver v1.37.2, optionally
// kube-controller-manager and kube-scheduler, and KWOK as a fake kubelet.
// The binaries are built from Go modules by hack/k8s/build.sh (make
// k8s-bins) into <repo>/.cache/k8s-v1.37.2, or $KOYOMI_K8S_BINS.
//
// Everything binds to 127.0.0.1 on free ports and lives in a fresh
// temporary directory (etcd runs with --unsafe-no-fsync on a new data dir,
// since KWOK cannot re-take node leases of an old one). The API server
// authenticates a static admin token, serves a self-signed certificate that
// the kubeconfig trusts, and runs with --endpoint-reconciler-type=none
// (loopback advertise address). The controller manager runs only the job,
// serviceaccount, garbage-collector, ttl-after-finished and node-lifecycle
// controllers; node-lifecycle removes the not-ready taint from the KWOK
// node so that the scheduler can place pods.
//
// KWOK runs the stages in stages.yaml: nodes become Ready, scheduled pods
// become Running, deleted pods go away, Job pods complete, and three test
// annotations drive a pod's fate: kwok-test/exit-code (end with this code),
// kwok-test/duration (after running this long, default 1s) and
// kwok-test/image-pull-error (wait with this reason instead of running).
// Every container log returns Options.Log, served by KWOK through pods/log;
// the pods of a namespace named in Options.NamespaceLogs return that log
// instead (create the namespace with ControlPlane.NamespaceNamed).
//
// One control plane serves a whole test package (Main from TestMain);
// tests isolate themselves by namespace (ControlPlane.Namespace). Stop
// stops the components in reverse order, KWOK first and etcd last, with
// SIGTERM and then SIGKILL after a timeout: an API server whose etcd is gone
// never exits on SIGTERM. Missing binaries make Env.Need skip a test, or
// fail it when CI=true.
package kube
