// Package pgtest starts a throwaway PostgreSQL 15 cluster for tests: initdb
// into a temp dir (as the postgres user when running as root, since initdb
// refuses root), pg_ctl start on a free loopback port, and one fresh database
// per test. When KOYOMI_TEST_POSTGRES_URL names a running server (make test
// starts one for the whole run) that server is used instead.
//
// Nothing here skips silently: a missing PostgreSQL is a test failure.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for admin statements
)

// BinDirDefault is where Debian installs PostgreSQL 15.
const BinDirDefault = "/usr/lib/postgresql/15/bin"

// EnvURL names an already running server to use instead of starting one.
const EnvURL = "KOYOMI_TEST_POSTGRES_URL"

// Cluster is a running PostgreSQL server.
type Cluster struct {
	// URL connects as the superuser to the "postgres" database.
	URL  string
	dir  string
	bin  string
	own  bool
	user string
}

var (
	sharedOnce sync.Once
	shared     *Cluster
	sharedErr  error
)

// Shared returns one cluster per test binary, started on first use. Call
// StopShared from TestMain after m.Run.
func Shared() (*Cluster, error) {
	sharedOnce.Do(func() {
		if u := os.Getenv(EnvURL); u != "" {
			shared = &Cluster{URL: u}
			return
		}
		shared, sharedErr = Start(BinDirDefault)
	})
	return shared, sharedErr
}

// StopShared stops the shared cluster if this process started it.
func StopShared() {
	if shared != nil {
		shared.Stop()
	}
}

// Start initialises and starts a new cluster.
func Start(binDir string) (*Cluster, error) {
	if _, err := os.Stat(filepath.Join(binDir, "initdb")); err != nil {
		return nil, fmt.Errorf("postgresql not found in %s (apt-get install postgresql-15): %w", binDir, err)
	}
	dir, err := os.MkdirTemp("", "koyomi-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: binDir, own: true}
	runAs := ""
	if os.Geteuid() == 0 {
		runAs = "postgres"
		if _, err := user.Lookup(runAs); err != nil {
			return nil, fmt.Errorf("running as root needs the postgres user to run initdb: %w", err)
		}
		if out, err := exec.Command("chown", "-R", runAs, dir).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("chown %s: %v: %s", dir, err, out)
		}
	}
	c.user = runAs
	data := filepath.Join(dir, "data")
	if out, err := c.cmd("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300", port, dir)
	if out, err := c.cmd("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		logData, _ := os.ReadFile(filepath.Join(dir, "log"))
		return nil, fmt.Errorf("pg_ctl start: %v: %s\n%s", err, out, logData)
	}
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return c, nil
}

func (c *Cluster) cmd(name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	if c.user != "" {
		return exec.Command("runuser", append([]string{"-u", c.user, "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

// Stop stops a cluster this process started and removes its files.
func (c *Cluster) Stop() {
	if !c.own {
		return
	}
	_ = c.cmd("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop").Run()
	_ = os.RemoveAll(c.dir)
}

// CreateDatabase creates a fresh database and returns its URL.
func (c *Cluster) CreateDatabase(ctx context.Context) (string, error) {
	db, err := sql.Open("pgx", c.URL)
	if err != nil {
		return "", err
	}
	defer db.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "koyomi_test_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// Database returns the URL of a fresh database on the shared cluster for t.
func Database(t testing.TB) string {
	t.Helper()
	c, err := Shared()
	if err != nil {
		t.Fatalf("postgres test cluster: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := c.CreateDatabase(ctx)
	if err != nil {
		t.Fatalf("postgres test database: %v", err)
	}
	return u
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	_, p, _ := strings.Cut(l.Addr().String(), ":")
	return strconv.Atoi(p)
}
