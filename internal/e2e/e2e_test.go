// Package e2e runs the real koyomi binary against real databases: crash
// recovery (kill -9 at random points while local jobs run), two replicas on
// one PostgreSQL (one leader plans, both dispatch, takeover after the
// leader dies) and the single-process rule of SQLite.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/scheduler"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/testpeer/pgtest"
)

var koyomiBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "koyomi-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	koyomiBin = filepath.Join(dir, "koyomi")
	build := exec.Command("go", "build", "-o", koyomiBin, "github.com/koyomi-dev/koyomi/cmd/koyomi")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build koyomi:", err)
		os.Exit(1)
	}
	code := m.Run()
	pgtest.StopShared()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// server is one `koyomi serve` process.
type server struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func startServe(t *testing.T, dbURL, dataDir, node string, extra ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--node", node,
		"--admin-password", "e2e-admin-password", "--poll-interval", "200ms", "--migrate", "true"}, extra...)
	if dbURL != "" {
		args = append(args, "--database-url", dbURL)
	}
	cmd := exec.Command(koyomiBin, args...)
	cmd.Env = append(os.Environ(), "KOYOMI_ACTOR=e2e")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	s := &server{cmd: cmd, out: out, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() { s.kill() })
	return s
}

// kill sends SIGKILL (no clean-up: the crash case).
func (s *server) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	s.done <- nil
}

func cli(t *testing.T, dbURL, dataDir string, args ...string) string {
	t.Helper()
	flags := []string{"--data-dir", dataDir}
	if dbURL != "" {
		flags = append(flags, "--database-url", dbURL)
	}
	if args[0] == "run" { // run SUB takes flags anywhere after SUB
		args = append(args, flags...)
	} else { // others take flags before their arguments
		args = append(append([]string{args[0]}, flags...), args[1:]...)
	}
	cmd := exec.Command(koyomiBin, args...)
	cmd.Env = append(os.Environ(), "KOYOMI_ACTOR=e2e")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "koyomi %s: %s", strings.Join(args, " "), out)
	return string(out)
}

// jobnetYAML defines folder e2e, calendar utc and a jobnet whose local jobs
// append "start JOB" and "end JOB" to logFile.
func jobnetYAML(name, logFile string, jobs int, chain bool, sleep string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "kind: Folder\nname: e2e\ncalendar: utc\n---\nkind: Calendar\nname: utc\ntime_zone: UTC\n---\nkind: Jobnet\nname: %s\nfolder: e2e\nunits:\n", name)
	for i := range jobs {
		fmt.Fprintf(&b, "  - name: j%d\n    kind: job\n    job: {type: local, local: {command: \"echo start $KOYOMI_JOB >> %s; sleep %s; echo end $KOYOMI_JOB >> %s\"}}\n", i, logFile, sleep, logFile)
	}
	if chain && jobs > 1 {
		b.WriteString("edges:\n")
		for i := 1; i < jobs; i++ {
			fmt.Fprintf(&b, "  - {from: j%d, to: j%d}\n", i-1, i)
		}
	}
	return b.String()
}

func countLines(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return map[string]int{}
	}
	require.NoError(t, err)
	defer f.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out[strings.TrimSpace(sc.Text())]++
	}
	return out
}

func openStore(t *testing.T, url string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Config{URL: url})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func waitGeneration(t *testing.T, s *store.Store, id string, timeout time.Duration) store.Generation {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		g, err := s.Generation(context.Background(), id)
		if err == nil && g.State.IsTerminal() {
			return g
		}
		if time.Now().After(deadline) {
			us, _ := s.UnitRuns(context.Background(), id)
			var st []string
			for _, u := range us {
				st = append(st, u.Path+"="+string(u.State))
			}
			t.Fatalf("generation %s did not end within %s: state %q, units %v, err %v", id, timeout, g.State, st, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func runNow(t *testing.T, dbURL, dataDir, jobnet string) string {
	t.Helper()
	out := cli(t, dbURL, dataDir, "run", "now", jobnet)
	id, _, _ := strings.Cut(strings.TrimSpace(out), "\t")
	require.Regexp(t, `^\d{8}-[0-9a-f]{10}$`, id, out)
	return id
}

// TestCrashRecovery kills `koyomi serve` with SIGKILL at random points while
// a chain of local jobs runs, restarts it (under another node name, as the
// default --node does), and checks every job started exactly once and ended
// exactly once and the generation ended normally, on PostgreSQL and on
// SQLite (where the restarted server adopts the running jobs at once).
func TestCrashRecovery(t *testing.T) {
	t.Run("postgres", func(t *testing.T) { crashRecovery(t, pgtest.Database(t)) })
	t.Run("sqlite", func(t *testing.T) { crashRecovery(t, "") })
}

func crashRecovery(t *testing.T, dbURL string) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	logFile := filepath.Join(dir, "jobs.log")
	const jobs = 6
	require.NoError(t, os.WriteFile(filepath.Join(dir, "defs.yaml"), []byte(jobnetYAML("chain", logFile, jobs, true, "0.7")), 0o644))
	cli(t, dbURL, data, "migrate", "up")
	cli(t, dbURL, data, "apply", "-f", filepath.Join(dir, "defs.yaml"))

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	srv := startServe(t, dbURL, data, "crash-1")
	id := runNow(t, dbURL, data, "e2e/chain")
	for i := range 4 {
		time.Sleep(time.Duration(300+rng.IntN(1500)) * time.Millisecond)
		srv.kill()
		t.Logf("kill -9 #%d after %d lines", i+1, len(countLines(t, logFile)))
		srv = startServe(t, dbURL, data, fmt.Sprintf("crash-%d", i+2))
	}
	storeURL := dbURL
	if storeURL == "" {
		storeURL = "sqlite:" + filepath.Join(data, "koyomi.db")
	}
	st := openStore(t, storeURL)
	g := waitGeneration(t, st, id, 40*time.Second)
	require.Equal(t, jobrun.GenEndedNormal, g.State, "server output:\n%s", srv.out.String())
	lines := countLines(t, logFile)
	for i := range jobs {
		require.Equal(t, 1, lines[fmt.Sprintf("start j%d", i)], "job j%d started once: %v", i, lines)
		require.Equal(t, 1, lines[fmt.Sprintf("end j%d", i)], "job j%d ended once: %v", i, lines)
	}
	gs, err := st.Generations(context.Background(), store.GenerationQuery{Jobnet: "e2e/chain"})
	require.NoError(t, err)
	require.Len(t, gs, 1, "no generation lost or duplicated")
}

// TestTwoReplicasOnePostgres runs two servers on one database: one leads
// the planner, both dispatch, no job runs twice; after kill -9 of the
// leader the other takes over planning.
func TestTwoReplicasOnePostgres(t *testing.T) {
	dbURL := pgtest.Database(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data") // shared, like a shared volume for local job state
	logFile := filepath.Join(dir, "jobs.log")
	const jobs = 12
	require.NoError(t, os.WriteFile(filepath.Join(dir, "defs.yaml"), []byte(jobnetYAML("wide", logFile, jobs, false, "0.3")), 0o644))
	cli(t, dbURL, data, "migrate", "up")
	cli(t, dbURL, data, "apply", "-f", filepath.Join(dir, "defs.yaml"))

	a := startServe(t, dbURL, data, "replica-a")
	b := startServe(t, dbURL, data, "replica-b")
	st := openStore(t, dbURL)
	ctx := context.Background()
	var lease store.Lease
	require.Eventually(t, func() bool {
		var err error
		lease, err = st.LeaseInfo(ctx, scheduler.LeaseName)
		return err == nil && lease.Holder != ""
	}, 20*time.Second, 100*time.Millisecond)
	leader, follower := a, b
	followerName := "replica-b"
	if lease.Holder == "replica-b" {
		leader, follower, followerName = b, a, "replica-a"
	}

	var ids []string
	for range 3 {
		ids = append(ids, runNow(t, dbURL, data, "e2e/wide"))
	}
	for _, id := range ids {
		require.Equal(t, jobrun.GenEndedNormal, waitGeneration(t, st, id, 40*time.Second).State)
	}
	lines := countLines(t, logFile)
	for i := range jobs {
		require.Equal(t, 3, lines[fmt.Sprintf("start j%d", i)], "j%d started once per generation: %v", i, lines)
		require.Equal(t, 3, lines[fmt.Sprintf("end j%d", i)])
	}
	var claimedBy []string
	for _, id := range ids {
		us, err := st.UnitRuns(ctx, id)
		require.NoError(t, err)
		for _, u := range us {
			claimedBy = append(claimedBy, u.ClaimedBy)
		}
	}
	perNode := map[string]int{}
	for _, n := range claimedBy {
		require.Contains(t, []string{"replica-a", "replica-b"}, n, "every unit records the node that ran it")
		perNode[n]++
	}
	t.Logf("units run per node: %v", perNode)

	// Kill the leader; the follower must take the lease and plan.
	killedAt := time.Now()
	leader.kill()
	require.Eventually(t, func() bool {
		l, err := st.LeaseInfo(ctx, scheduler.LeaseName)
		return err == nil && l.Holder == followerName
	}, 15*time.Second, 50*time.Millisecond, "the follower did not take over within 15 s")
	takeover := time.Since(killedAt)
	t.Logf("takeover after kill -9 of the leader: %s", takeover.Round(10*time.Millisecond))

	// Planning works under the new leader: a jobnet with a schedule gets generations.
	sched := jobnetYAML("planned", logFile, 1, false, "0") + "schedule:\n  - {name: daily, kind: daily, start: [\"23:59\"]}\n"
	sched = strings.Replace(sched, "kind: Folder\nname: e2e\ncalendar: utc\n---\nkind: Calendar\nname: utc\ntime_zone: UTC\n---\n", "", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "planned.yaml"), []byte(sched), 0o644))
	cli(t, dbURL, data, "apply", "-f", filepath.Join(dir, "planned.yaml"))
	require.Eventually(t, func() bool {
		gs, err := st.Generations(ctx, store.GenerationQuery{Jobnet: "e2e/planned"})
		return err == nil && len(gs) >= 1
	}, 15*time.Second, 100*time.Millisecond, "the new leader did not plan; follower output:\n%s", follower.out.String())
	// The servers route outbox events at once, so read them whatever their
	// delivery state.
	db, err := sql.Open("pgx", dbURL)
	require.NoError(t, err)
	defer db.Close()
	var leaderChanges int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM alert_events WHERE body LIKE '%leader_change%' AND body LIKE $1",
		"%to "+followerName+"%").Scan(&leaderChanges))
	require.Equal(t, 1, leaderChanges, "a leader_change alert was written")
}

// TestSQLiteRefusesSecondServer: SQLite mode is single-process.
func TestSQLiteRefusesSecondServer(t *testing.T) {
	data := t.TempDir()
	first := startServe(t, "", data, "only")
	require.Eventually(t, func() bool { return strings.Contains(first.out.String(), "is serving on") }, 20*time.Second, 50*time.Millisecond, first.out.String())

	cmd := exec.Command(koyomiBin, "serve", "--listen", "127.0.0.1:0", "--data-dir", data, "--admin-password", "e2e-admin-password")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "a second serve on the same SQLite database must fail: %s", out)
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 5, ee.ExitCode(), "conflict exit code")
	require.Contains(t, string(out), "in use by another koyomi process")
	require.Contains(t, string(out), "use PostgreSQL for several replicas")
}

// TestReplicasOnSeparateHosts runs two servers on one PostgreSQL database
// with a data directory each, as on two hosts. The replica that runs a
// chain's local jobs is killed with SIGKILL mid-job: the other never takes
// them over (it could not learn their outcome, nor restart them without
// running them twice), and once the killed replica is back with its data
// directory the chain ends normally, every job started and ended once.
func TestReplicasOnSeparateHosts(t *testing.T) {
	dbURL := pgtest.Database(t)
	dir := t.TempDir()
	dataA, dataB := filepath.Join(dir, "host-a"), filepath.Join(dir, "host-b")
	logFile := filepath.Join(dir, "jobs.log")
	const jobs = 3
	require.NoError(t, os.WriteFile(filepath.Join(dir, "defs.yaml"), []byte(jobnetYAML("chain", logFile, jobs, true, "1.5")), 0o644))
	cli(t, dbURL, dataA, "migrate", "up")
	cli(t, dbURL, dataA, "apply", "-f", filepath.Join(dir, "defs.yaml"))

	a := startServe(t, dbURL, dataA, "replica-a")
	b := startServe(t, dbURL, dataB, "replica-b", "--poll-interval", "50ms")
	st := openStore(t, dbURL)
	ctx := context.Background()
	id := runNow(t, dbURL, dataA, "e2e/chain")
	var owner string
	require.Eventually(t, func() bool {
		us, err := st.UnitRuns(ctx, id)
		if err != nil {
			return false
		}
		for _, u := range us {
			if u.Path == "j0" && u.State == jobrun.StateRunning {
				owner = u.ClaimedBy
				return true
			}
		}
		return false
	}, 20*time.Second, 20*time.Millisecond)
	dead, survivor, ownerData := a, b, dataA
	if owner == "replica-b" {
		dead, survivor, ownerData = b, a, dataB
	}
	dead.kill() // the replica that runs j0
	// Its claims would expire after 30 s; expire them now. The survivor
	// (polling every 50 ms) then sees an orphan it must not adopt.
	db, err := sql.Open("pgx", dbURL)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.ExecContext(ctx, "UPDATE unit_runs SET claim_expires = now() - interval '1 minute' WHERE claimed_by = $1", owner)
	require.NoError(t, err)
	require.Never(t, func() bool {
		us, err := st.UnitRuns(ctx, id)
		require.NoError(t, err)
		for _, u := range us {
			if u.State == jobrun.StateUnknownEnd || (u.Path == "j0" && u.ClaimedBy != owner) {
				t.Logf("unit %s: %s, claimed by %s: %s", u.Path, u.State, u.ClaimedBy, u.Reason)
				return true
			}
		}
		return false
	}, 3*time.Second, 50*time.Millisecond, "the other host leaves j0 alone")
	// The host comes back (same data directory and node name).
	back := startServe(t, dbURL, ownerData, owner)
	g := waitGeneration(t, st, id, 40*time.Second)
	require.Equal(t, jobrun.GenEndedNormal, g.State, "server output:\n%s\nsurvivor:\n%s", back.out.String(), survivor.out.String())
	lines := countLines(t, logFile)
	for i := range jobs {
		require.Equal(t, 1, lines[fmt.Sprintf("start j%d", i)], "job j%d started once: %v", i, lines)
		require.Equal(t, 1, lines[fmt.Sprintf("end j%d", i)], "job j%d ended once: %v", i, lines)
	}
}
