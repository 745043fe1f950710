// Command bench measures local jobs end to end with the production binary:
// it starts `koyomi serve` on a fresh data directory (SQLite, and PostgreSQL
// when --postgres is given), applies three jobnets whose jobs all run
// `true` — a chain of 100, 500 independent jobs, 1,000 jobs in 10 layers of
// 100 with every job of a layer depending on every job of the previous one
// — starts each with `koyomi run now` and reads the recorded start and end
// times of every job from the database. See docs/bench.md.
//
// Before that it runs the same shapes with nothing but fork/exec: this
// process starts `/bin/sh -c true` for every job as soon as its
// predecessors have ended, with no limit on parallelism, and records
// nothing. That row is the floor of this machine at this moment; Koyomi's
// rows are read against it (the "× floor" column).
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
	fmt.Fprintln(out, "hop: start of the last predecessor → start (wide: generation start → start) = run (the predecessor's start → its end) + react (its end → start)")
	fmt.Fprintf(out, "%-10s  %-13s %5s %9s %8s %9s %9s %9s %9s %9s %8s\n", "database", "shape", "jobs", "wall", "jobs/s", "hop p50", "hop p99", "hop max", "run p50", "react p50", "× floor")
	floors := map[string]result{}
	for _, s := range sel {
		r, err := floor(ctx, s)
		if err != nil {
			return err
		}
		floors[s.name] = r
		printRow(out, "fork/exec", s.name, r, result{})
	}
	for _, db := range dbs {
		if err := bench(ctx, out, binPath, db, sel, serveFlags, *timeout, floors); err != nil {
			return err
		}
	}
	return nil
}

// printRow prints one row; against a floor it adds the ratio of the
// figure the shape is about (the hop p50 of chains, the wall time of the
// others).
func printRow(out io.Writer, label, shape string, r, floor result) {
	ratio := ""
	if floor.jobs > 0 {
		if strings.HasPrefix(shape, "chain-") {
			ratio = fmt.Sprintf("%.1f×", float64(r.p50)/float64(floor.p50))
		} else {
			ratio = fmt.Sprintf("%.1f×", float64(r.wall)/float64(floor.wall))
		}
	}
	fmt.Fprintf(out, "%-10s  %-13s %5d %9s %8.0f %9s %9s %9s %9s %9s %8s\n", label, shape, r.jobs, r.wall.Round(time.Millisecond),
		float64(r.jobs)/r.wall.Seconds(), ms(r.p50), ms(r.p99), ms(r.max), ms(r.runP50), ms(r.reactP50), ratio)
}

// floor runs the shape with fork/exec alone: every job is `/bin/sh -c
// true`, started by this process as soon as its predecessors have ended.
func floor(ctx context.Context, s shape) (result, error) {
	succs := map[string][]string{}
	waiting := map[string]int{}
	for _, u := range s.units {
		waiting[u] = len(s.preds[u])
		for _, p := range s.preds[u] {
			succs[p] = append(succs[p], u)
		}
	}
	type ended struct {
		name       string
		start, end time.Time
		err        error
	}
	done := make(chan ended)
	launch := func(name string) {
		go func() {
			cmd := exec.CommandContext(ctx, "/bin/sh", "-c", "true")
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				done <- ended{name: name, err: err}
				return
			}
			start := time.Now()
			err := cmd.Wait()
			done <- ended{name: name, start: start, end: time.Now(), err: err}
		}()
	}
	t0 := time.Now()
	for _, u := range s.units {
		if waiting[u] == 0 {
			launch(u)
		}
	}
	times := map[string]ended{}
	for len(times) < len(s.units) {
		e := <-done
		if e.err != nil {
			return result{}, fmt.Errorf("fork/exec floor of %s: %w", s.name, e.err)
		}
		times[e.name] = e
		for _, n := range succs[e.name] {
			if waiting[n]--; waiting[n] == 0 {
				launch(n)
			}
		}
	}
	span := map[string][2]time.Time{}
	for n, e := range times {
		span[n] = [2]time.Time{e.start, e.end}
	}
	return figures(s, span, t0), nil
}

// bench runs the shapes on one database behind one server.
func bench(ctx context.Context, out io.Writer, bin, dbURL string, sel []shape, serveFlags []string, timeout time.Duration, floors map[string]result) error {
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
		printRow(out, label, s.name, r, floors[s.name])
	}
	return nil
}

type result struct {
	jobs             int
	wall             time.Duration
	p50, p99, max    time.Duration
	runP50, reactP50 time.Duration
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
	span := map[string][2]time.Time{}
	for _, u := range units {
		if u.StartedAt == nil || u.EndedAt == nil {
			return result{}, fmt.Errorf("unit %s has no start or end time (state %s)", u.Path, u.State)
		}
		span[u.Path] = [2]time.Time{*u.StartedAt, *u.EndedAt}
	}
	if len(span) != len(s.units) {
		return result{}, fmt.Errorf("%d units recorded, want %d", len(span), len(s.units))
	}
	var genStart time.Time
	if g.StartedAt != nil {
		genStart = *g.StartedAt
	}
	return figures(s, span, genStart), nil
}

// figures computes a result from each job's start and end.
func figures(s shape, span map[string][2]time.Time, genStart time.Time) result {
	var first, last time.Time
	for _, t := range span {
		if first.IsZero() || t[0].Before(first) {
			first = t[0]
		}
		if t[1].After(last) {
			last = t[1]
		}
	}
	var hops, runs, reacts []time.Duration
	for _, name := range s.units {
		preds := s.preds[name]
		if len(preds) == 0 {
			if len(s.preds) == 0 && !genStart.IsZero() {
				hops = append(hops, span[name][0].Sub(genStart))
			}
			continue
		}
		// From the start of the last predecessor to start: the
		// predecessor's run (`true`), noticing its end and dispatching
		// this job. It does not depend on when the server says a job
		// ended; run and react split it where it does.
		var ready, readyEnd time.Time
		for _, p := range preds {
			if t := span[p][0]; t.After(ready) {
				ready, readyEnd = t, span[p][1]
			}
		}
		hops = append(hops, span[name][0].Sub(ready))
		runs = append(runs, readyEnd.Sub(ready))
		reacts = append(reacts, span[name][0].Sub(readyEnd))
	}
	slices.Sort(hops)
	slices.Sort(runs)
	slices.Sort(reacts)
	r := result{jobs: len(span), wall: last.Sub(first)}
	if len(hops) > 0 {
		r.p50, r.p99, r.max = pct(hops, 50), pct(hops, 99), hops[len(hops)-1]
	}
	if len(runs) > 0 {
		r.runP50, r.reactP50 = pct(runs, 50), pct(reacts, 50)
	}
	return r
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
