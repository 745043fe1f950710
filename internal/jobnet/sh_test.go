package jobnet

import (
	"os/exec"
	"testing"
)

func runSh(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	return exec.Command("/bin/sh", args...).CombinedOutput()
}
