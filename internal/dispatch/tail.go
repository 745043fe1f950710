package dispatch

import (
	"bytes"
	"context"
	"errors"
	"strings"
)

// ErrNoLogTail is returned by a LineTailer that wraps another executor
// (one rebuilt from the stored connections) when that one cannot read a
// log's end directly; the caller reads the log from its start instead.
var ErrNoLogTail = errors.New("dispatch: the executor cannot read a log's end directly")

// LineTailer is implemented by executors that can read the end of a log
// without reading it from the start (a kept file, a tail request). The
// runner prefers it for the log tail an alert carries.
type LineTailer interface {
	// TailLines returns the last lines of the execution's log (fewer when
	// the log is shorter), without their line breaks.
	TailLines(ctx context.Context, h Handle, lines int) ([]string, error)
}

// LastLines returns the last n lines of data, without line breaks (and
// carriage returns); a last line without a break counts.
func LastLines(data []byte, n int) []string {
	data = bytes.TrimSuffix(data, []byte{'\n'})
	if len(data) == 0 || n <= 0 {
		return nil
	}
	parts := strings.Split(string(data), "\n")
	if len(parts) > n {
		parts = parts[len(parts)-n:]
	}
	for i, p := range parts {
		parts[i] = strings.TrimRight(p, "\r")
	}
	return parts
}
