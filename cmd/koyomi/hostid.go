package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// hostIDFile names the file in the data directory that identifies the disk
// holding the local job state (runner.Params.HostID).
const hostIDFile = "host-id"

// hostID returns the data directory's host id, creating it once: replicas
// that share a data directory share it and may adopt each other's local
// jobs; replicas on other hosts (another data directory) never do.
func hostID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, hostIDFile)
	for range 2 {
		b, err := os.ReadFile(path)
		if err == nil {
			id := strings.TrimSpace(string(b))
			if id == "" {
				return "", fmt.Errorf("host id %s is empty: remove it to have a new one created", path)
			}
			return id, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("read host id: %w", err)
		}
		var raw [16]byte
		_, _ = rand.Read(raw[:])
		id := hex.EncodeToString(raw[:])
		// Written aside and linked into place: a concurrent first start
		// finds either no file or a complete one, and one of them wins.
		tmp, err := os.CreateTemp(dataDir, ".host-id-*")
		if err != nil {
			return "", fmt.Errorf("create host id: %w", err)
		}
		_, werr := tmp.WriteString(id + "\n")
		serr := tmp.Sync()
		cerr := tmp.Close()
		if err := errors.Join(werr, serr, cerr); err != nil {
			_ = os.Remove(tmp.Name())
			return "", fmt.Errorf("write host id: %w", err)
		}
		lerr := os.Link(tmp.Name(), path)
		_ = os.Remove(tmp.Name())
		if lerr != nil && !errors.Is(lerr, fs.ErrExist) {
			return "", fmt.Errorf("create host id: %w", lerr)
		}
	}
	return "", fmt.Errorf("host id %s: created but not readable", path)
}
