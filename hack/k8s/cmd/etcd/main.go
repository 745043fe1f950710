// Command etcd is the upstream etcd server (go.etcd.io/etcd/server/v3),
// built from the same module graph as the Kubernetes control plane used by
// the integration tests.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
