// Command bench measures local jobs end to end with the production binary:
// it starts `koyomi serve` on a fresh data directory (SQLite, and PostgreSQL
// when --postgres is given), applies three jobnets whose jobs all run
// `true` — a chain of 100, 500 independent jobs, 1,000 jobs in 10 layers of
// 100 with every job of a layer depending on every job of the previous one
// — starts each with `koyomi run now` and reads the recorded start and end
// times of every job from the database. See docs/bench.md.
//
//	go run ./hack/bench [--bin bin/koyomi] [--postgres URL] [--shapes chain-100,wide-500,layered-1000] [--serve-flag=--poll-interval=1s ...]
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/koyomi-dev/koyomi/internal/store"
)

// shape is one benchmark jobnet: units and, for each, its predecessors.
type shape struct {
	name  string
	units []string
	preds map[string][]string
}

func chain(n int) shape {
	s := shape{name: fmt.Sprintf("chain-%d", n), preds: map[string][]string{}}
	for i := range n {
		u := fmt.Sprintf("j%04d", i)
		s.units = append(s.units, u)
		if i > 0 {
			s.preds[u] = []string{s.units[i-1]}
		}
	}
	return s
}

func wide(n int) shape {
	s := shape{name: fmt.Sprintf("wide-%d", n), preds: map[string][]string{}}
	for i := range n {
		s.units = append(s.units, fmt.Sprintf("j%04d", i))
	}
	return s
}

func layered(layers, width int) shape {
	s := shape{name: fmt.Sprintf("layered-%d", layers*width), preds: map[string][]string{}}
	var prev []string
	for l := range layers {
		var cur []string
		for i := range width {
			u := fmt.Sprintf("l%02d-j%03d", l, i)
			cur = append(cur, u)
			s.units = append(s.units, u)
			if prev != nil {
				s.preds[u] = prev
			}
		}
		prev = cur
	}
	return s
}

// yaml writes the shape as a jobnet of folder bench.
func (s shape) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "---\nkind: Jobnet\nname: %s\nfolder: bench\nunits:\n", s.name)
	for _, u := range s.units {
		fmt.Fprintf(&b, "  - {name: %s, kind: job, job: {type: local, local: {command: \"true\"}}}\n", u)
	}
	if len(s.preds) > 0 {
		b.WriteString("edges:\n")
		for _, u := range s.units {
			for _, p := range s.preds[u] {
				fmt.Fprintf(&b, "  - {from: %s, to: %s}\n", p, u)
			}
		}
	}
	return b.String()
}

const header = `kind: Calendar
name: bench
time_zone: UTC
---
kind: Folder
name: bench
calendar: bench
`

var shapes = map[string]shape{"chain-100": chain(100), "wide-500": wide(500), "layered-1000": layered(10, 100)}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	bin := fs.String("bin", "bin/koyomi", "the koyomi binary to measure")
	pg := fs.String("postgres", "", "PostgreSQL URL of an empty database to measure too (make bench starts one with fsync and synchronous_commit on)")
	which := fs.String("shapes", "chain-100,wide-500,layered-1000", "shapes to run")
	timeout := fs.Duration("timeout", 10*time.Minute, "longest wait for one generation")
	var serveFlags multiFlag
	fs.Var(&serveFlags, "serve-flag", "extra flag for koyomi serve (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	binPath, err := filepath.Abs(*bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(binPath); err != nil {
		return fmt.Errorf("koyomi binary: %w (run make build)", err)
	}
	var sel []shape
	for _, n := range strings.Split(*which, ",") {
		s, ok := shapes[strings.TrimSpace(n)]
		if !ok {
			return fmt.Errorf("unknown shape %q", n)
		}
		sel = append(sel, s)
	}
	dbs := []string{""}
	if *pg != "" {
		dbs = append(dbs, *pg)
	}
	fmt.Fprintf(out, "%-10s  %-13s %5s %9s %8s %9s %9s %9s  %s\n", "database", "shape", "jobs", "wall", "jobs/s", "hop p50", "hop p99", "hop max", "(hop: start of the last predecessor → start; wide: generation start → start)")
	for _, db := range dbs {
		if err := bench(ctx, out, binPath, db, sel, serveFlags, *timeout); err != nil {
			return err
		}
	}
	return nil
}

// bench runs the shapes on one database behind one server.
func bench(ctx context.Context, out io.Writer, bin, dbURL string, sel []shape, serveFlags []string, timeout time.Duration) error {
	dir, err := os.MkdirTemp("", "koyomi-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dbArgs := []string{"--data-dir", dir}
	label := "sqlite"
	storeURL := "sqlite:" + filepath.Join(dir, "koyomi.db")
	if dbURL != "" {
		dbArgs = append(dbArgs, "--database-url", dbURL)
		label, storeURL = "postgresql", dbURL
	}
	if err := koyomi(ctx, bin, nil, append(append([]string{"migrate"}, dbArgs...), "up")...); err != nil {
		return err
	}
	var defs strings.Builder
	defs.WriteString(header)
	for _, s := range sel {
		defs.WriteString(s.yaml())
	}
	defsFile := filepath.Join(dir, "bench.yaml")
	if err := os.WriteFile(defsFile, []byte(defs.String()), 0o600); err != nil {
		return err
	}
	if err := koyomi(ctx, bin, nil, append([]string{"apply", "-f", defsFile}, dbArgs...)...); err != nil {
		return err
	}

	addr, err := freeAddr()
	if err != nil {
		return err
	}
	serveArgs := append(append([]string{"serve", "--listen", addr, "--migrate", "false"}, dbArgs...), serveFlags...)
	srv := exec.Command(bin, serveArgs...)
	srv.Env = append(os.Environ(), "KOYOMI_ADMIN_PASSWORD=bench-password")
	var srvOut bytes.Buffer
	srv.Stdout, srv.Stderr = &srvOut, &srvOut
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		_ = srv.Wait()
	}()
	if err := waitReady(ctx, "http://"+addr+"/readyz", 60*time.Second); err != nil {
		return fmt.Errorf("koyomi serve: %w\n%s", err, srvOut.String())
	}
	st, err := store.Open(ctx, store.Config{URL: storeURL})
	if err != nil {
		return err
	}
	defer st.Close()
	for _, s := range sel {
		var runOut bytes.Buffer
		if err := koyomi(ctx, bin, &runOut, append([]string{"run", "now", "bench/" + s.name}, dbArgs...)...); err != nil {
			return err
		}
		id, _, _ := strings.Cut(strings.TrimSpace(runOut.String()), "\t")
		r, err := measure(ctx, st, id, s, timeout)
		if err != nil {
			return fmt.Errorf("%s on %s: %w\n%s", s.name, label, err, tail(srvOut.String(), 2000))
		}
		fmt.Fprintf(out, "%-10s  %-13s %5d %9s %8.0f %9s %9s %9s\n", label, s.name, r.jobs, r.wall.Round(time.Millisecond),
			float64(r.jobs)/r.wall.Seconds(), ms(r.p50), ms(r.p99), ms(r.max))
	}
	return nil
}

type result struct {
	jobs          int
	wall          time.Duration
	p50, p99, max time.Duration
}

// measure waits for the generation to end and computes the figures from
// the start and end times the server recorded.
func measure(ctx context.Context, st *store.Store, id string, s shape, timeout time.Duration) (result, error) {
	deadline := time.Now().Add(timeout)
	var g store.Generation
	for {
		var err error
		g, err = st.Generation(ctx, id)
		if err != nil {
			return result{}, err
		}
		if g.State.IsTerminal() {
			break
		}
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("generation %s still %s after %v", id, g.State, timeout)
		}
		select {
		case <-ctx.Done():
			return result{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	units, err := st.UnitRuns(ctx, id)
	if err != nil {
		return result{}, err
	}
	if !g.State.EndedOK() {
		return result{}, fmt.Errorf("generation %s ended %s", id, g.State)
	}
	by := map[string]store.UnitRun{}
	var first, last time.Time
	for _, u := range units {
		if u.StartedAt == nil || u.EndedAt == nil {
			return result{}, fmt.Errorf("unit %s has no start or end time (state %s)", u.Path, u.State)
		}
		by[u.Path] = u
		if first.IsZero() || u.StartedAt.Before(first) {
			first = *u.StartedAt
		}
		if u.EndedAt.After(last) {
			last = *u.EndedAt
		}
	}
	if len(by) != len(s.units) {
		return result{}, fmt.Errorf("%d units recorded, want %d", len(by), len(s.units))
	}
	var hops []time.Duration
	for _, name := range s.units {
		u := by[name]
		preds := s.preds[name]
		if len(preds) == 0 {
			if len(s.preds) == 0 && g.StartedAt != nil {
				hops = append(hops, u.StartedAt.Sub(*g.StartedAt))
			}
			continue
		}
		// From the start of the last predecessor to start: the
		// predecessor's run (`true`), noticing its end and dispatching
		// this job. It does not depend on when the server says a job
		// ended.
		var ready time.Time
		for _, p := range preds {
			if t := *by[p].StartedAt; t.After(ready) {
				ready = t
			}
		}
		hops = append(hops, u.StartedAt.Sub(ready))
	}
	slices.Sort(hops)
	r := result{jobs: len(by), wall: last.Sub(first)}
	if len(hops) > 0 {
		r.p50, r.p99, r.max = pct(hops, 50), pct(hops, 99), hops[len(hops)-1]
	}
	return r, nil
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

func koyomi(ctx context.Context, bin string, stdout io.Writer, args ...string) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	var errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &errOut
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("koyomi %s: %w\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitReady(ctx context.Context, url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %v", within, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
