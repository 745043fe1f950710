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
// generation of one installation. It is deterministic, at most
// DispatchKeyMax characters of [a-z0-9-], starts and ends with a letter or
// digit, and reads as "<installation>-<run>-<unit>-<attempt>-<hash>": the
// installation's slug (at most InstallationKeyMax characters), a readable
// prefix of run and unit (shortened when needed) and the first 10 hex digits
// of SHA-256 over the exact inputs, so different inputs that slug alike
// ("load/x" and "load-x") still get different keys, and two installations
// never share a key. Executors use it as the ECS clientToken and startedBy
// and as the seed of pod names; the store records it before the executor is
// called.
func DispatchKey(installation, runID, unitPath string, attempt int) string {
	sum := sha256.Sum256([]byte(installation + "\x00" + runID + "\x00" + unitPath + "\x00" + strconv.Itoa(attempt)))
	tail := "-" + strconv.Itoa(attempt) + "-" + hex.EncodeToString(sum[:5])
	inst := slug(installation)
	if len(inst) > InstallationKeyMax {
		inst = strings.TrimRight(inst[:InstallationKeyMax], "-")
	}
	if inst != "" {
		inst += "-"
	}
	budget := DispatchKeyMax - len(tail) - len(inst)
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
	head = strings.Trim(inst+head, "-")
	if head == "" {
		head = "k"
	}
	return head + tail
}

// InstallationKeyMax is the most characters of the installation id a
// dispatch key carries (an installation id is 12 hex digits).
const InstallationKeyMax = 12

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
