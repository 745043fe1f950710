package jobrun

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// DispatchKeyMax is the longest dispatch key: it fits an ECS clientToken (64)
// and a Kubernetes DNS label (63).
const DispatchKeyMax = 63

// DispatchKey returns the idempotency key of one attempt of one unit in one
// generation. It is deterministic, at most DispatchKeyMax characters of
// [a-z0-9-], starts and ends with a letter or digit, and reads as
// "<run>-<unit>-<attempt>-<hash>": a readable prefix (shortened when needed)
// and the first 10 hex digits of SHA-256 over the exact inputs, so different
// inputs that slug alike ("load/x" and "load-x") still get different keys.
// Executors use it as the ECS clientToken and startedBy and as the seed of
// pod names; the runner records it before it calls Start.
func DispatchKey(runID string, unitPath string, attempt int) string {
	sum := sha256.Sum256([]byte(runID + "\x00" + unitPath + "\x00" + strconv.Itoa(attempt)))
	tail := "-" + strconv.Itoa(attempt) + "-" + hex.EncodeToString(sum[:5])
	budget := DispatchKeyMax - len(tail)
	run := slug(runID)
	unit := slug(unitPath)
	// Keep at most 13 characters of the run id (a UUID's first two groups)
	// when the whole does not fit; the unit path is the part people read.
	if len(run)+1+len(unit) > budget && len(run) > 13 {
		run = strings.TrimRight(run[:13], "-")
	}
	head := run
	if unit != "" {
		if head != "" {
			head += "-"
		}
		head += unit
	}
	if len(head) > budget {
		head = head[:budget]
	}
	head = strings.Trim(head, "-")
	if head == "" {
		head = "k"
	}
	return head + tail
}

// slug lowers s and turns every run of other characters than [a-z0-9] into one "-".
func slug(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}
