package local

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// message is one line of the supervisor protocol: newline-delimited JSON
// over the unix socket <StateDir>/supervisor.sock.
//
//	executor → supervisor: {"op":"start","seq":N,"key":K,"spec":{…}}  start K once
//	                       {"op":"retire"}                            stop accepting; end when idle
//	supervisor → executor: {"hello":{"id":…,"pid":…}}                 first, on every connection
//	                       {"re":N,"err":…,"retry":…}                 the reply to seq N
//	                       {"ended":K,"exit":{…}}                     K's outcome, as recorded
type message struct {
	Op   string `json:"op,omitempty"`
	Seq  uint64 `json:"seq,omitempty"`
	Key  string `json:"key,omitempty"`
	Spec *spec  `json:"spec,omitempty"`

	Hello *hello      `json:"hello,omitempty"`
	Re    uint64      `json:"re,omitempty"`
	Err   string      `json:"err,omitempty"`
	Retry bool        `json:"retry,omitempty"`
	Ended string      `json:"ended,omitempty"`
	Exit  *exitRecord `json:"exit,omitempty"`
}

// hello identifies the supervisor at the other end of a connection.
type hello struct {
	// ID is the identity of the binary the supervisor was started from
	// (see binaryID); an executor started from another binary retires it.
	ID  string `json:"id"`
	PID int    `json:"pid"`
}

const (
	opStart  = "start"
	opRetire = "retire"
)

// Names in the state directory itself.
const (
	fileSocket    = "supervisor.sock" // the supervisor's unix socket
	fileSupLock   = "supervisor.lock" // flock held by the supervisor that owns the socket
	fileSupDaemon = "supervisor.log"  // the supervisor's own diagnostics
)

// sockAddrMax is the longest path a unix socket address can hold (sun_path
// is 108 bytes on Linux, including the terminating NUL).
const sockAddrMax = 107

// socketPath returns a path for the socket in dir that fits a unix socket
// address. A long state directory is reached through /proc/self/fd and the
// returned closer must be called once the path has been used.
func socketPath(dir string) (string, func(), error) {
	p := filepath.Join(dir, fileSocket)
	if len(p) <= sockAddrMax {
		return p, func() {}, nil
	}
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, fmt.Errorf("open %s: %w", dir, err)
	}
	return "/proc/self/fd/" + strconv.Itoa(fd) + "/" + fileSocket, func() { syscall.Close(fd) }, nil
}

// binaryID identifies the supervisor binary: its path, size and
// modification time, so that a server started from a new build retires a
// supervisor left running by the old one.
func binaryID(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return path
	}
	return fmt.Sprintf("%s:%d:%d", path, fi.Size(), fi.ModTime().UnixNano())
}
