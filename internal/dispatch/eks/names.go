package eks

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// Labels and annotations Koyomi puts on every object it creates.
const (
	// LabelManagedBy marks objects created by Koyomi; the informers select on it.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of LabelManagedBy.
	ManagedByValue = "koyomi"
	// LabelRunID carries the generation id (sanitised to a label value).
	LabelRunID = "koyomi.dev/run-id"
	// LabelUnit carries the unit path (sanitised to a label value).
	LabelUnit = "koyomi.dev/unit"
	// LabelInstallation carries the id of the Koyomi installation that
	// created the object (Config.Installation); the informers select on it,
	// so an installation never sees or adopts another's pods.
	LabelInstallation = "koyomi.dev/installation"
	// LabelKey carries the idempotency key (sanitised to a label value).
	LabelKey = "koyomi.dev/key"
	// AnnotationKey and the other annotations carry the unabridged values.
	AnnotationKey          = "koyomi.dev/key"
	AnnotationRunID        = "koyomi.dev/run-id"
	AnnotationUnit         = "koyomi.dev/unit"
	AnnotationJobnet       = "koyomi.dev/jobnet"
	AnnotationAttempt      = "koyomi.dev/attempt"
	AnnotationBusinessDate = "koyomi.dev/business-date"
	// AnnotationCleanup holds the cleanup policy (delete or keep) that the
	// sweep of ended objects follows.
	AnnotationCleanup = "koyomi.dev/cleanup"
	// LabelJobName is set by the Job controller on the pods of a batch/v1 Job.
	LabelJobName = "batch.kubernetes.io/job-name"
)

// NamePrefix starts every object name.
const NamePrefix = "koyomi-"

// nameMax is the longest object name: a DNS-1123 label, so that the name
// also fits the job-name label the Job controller puts on its pods.
const nameMax = validation.DNS1123LabelMaxLength

// hashLen is the number of hex digits of the key's SHA-256 used when a
// value has to be shortened.
const hashLen = 10

var keyRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// ObjectName returns the deterministic name of the pod or Job for an
// idempotency key: "koyomi-<key>", or, when that exceeds 63 characters,
// "koyomi-<start of key>-<hash of key>", so that distinct keys never share a
// name in practice and the same key always gives the same name.
func ObjectName(key string) (string, error) {
	if len(key) > 64 || !keyRE.MatchString(key) {
		return "", fmt.Errorf("eks: idempotency key %q: want 1-64 characters of [a-z0-9-], starting and ending alphanumeric: %w", key, fault.ErrInvalid)
	}
	name := NamePrefix + key
	if len(name) > nameMax {
		name = NamePrefix + shorten(key, nameMax-len(NamePrefix))
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return "", fmt.Errorf("eks: object name %q: %s: %w", name, strings.Join(errs, "; "), fault.ErrInvalid)
	}
	return name, nil
}

// shorten returns s when it fits max, else a prefix of s, "-" and a hash of
// the whole of s, in max characters.
func shorten(s string, max int) string {
	if len(s) <= max {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	h := hex.EncodeToString(sum[:])[:hashLen]
	head := strings.TrimRight(s[:max-hashLen-1], "-_.")
	return head + "-" + h
}

// LabelValue turns any string into a valid label value. A value that is
// already valid is kept. Otherwise characters outside [A-Za-z0-9-_.] become
// ".", the ends are trimmed to alphanumerics, and "-" plus a hash of the
// original is appended (within 63 characters), so that two different values
// never map to the same label value in practice.
func LabelValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '.'
		}
	}
	v := strings.Trim(string(b), "-_.")
	if v == s && len(v) <= validation.LabelValueMaxLength {
		return v
	}
	sum := sha256.Sum256([]byte(s))
	h := hex.EncodeToString(sum[:])[:hashLen]
	if max := validation.LabelValueMaxLength - hashLen - 1; len(v) > max {
		v = strings.TrimRight(v[:max], "-_.")
	}
	if v == "" {
		return h
	}
	return v + "-" + h
}

// Selector is the label selector of the objects an installation owns:
// managed by Koyomi and, when installation is not empty, labelled with it.
func Selector(installation string) string {
	s := LabelManagedBy + "=" + ManagedByValue
	if installation != "" {
		s += "," + LabelInstallation + "=" + installation
	}
	return s
}
