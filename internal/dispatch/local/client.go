package local

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
)

// client is one connection to the supervisor.
type client struct {
	c       net.Conn
	hello   hello
	wmu     sync.Mutex
	mu      sync.Mutex
	seq     uint64
	pending map[uint64]chan message
	dead    bool
	closed  chan struct{} // closed when the supervisor's end of the connection is gone
}

// errConnLost fails the calls waiting on a connection that broke.
var errConnLost = errors.New("connection to the supervisor lost")

func (c *client) call(ctx context.Context, m message) (message, error) {
	ch := make(chan message, 1)
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return message{}, errConnLost
	}
	c.seq++
	m.Seq = c.seq
	c.pending[m.Seq] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, m.Seq)
		c.mu.Unlock()
	}()
	if err := c.send(m); err != nil {
		return message{}, fmt.Errorf("%w: %v", errConnLost, err)
	}
	select {
	case rep, ok := <-ch:
		if !ok {
			return message{}, errConnLost
		}
		return rep, nil
	case <-ctx.Done():
		return message{}, fmt.Errorf("wait for the supervisor: %w", ctx.Err())
	}
}

func (c *client) send(m message) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err = c.c.Write(append(data, '\n'))
	return err
}

// read delivers replies and end notifications until the connection breaks.
func (c *client) read(r *bufio.Reader, ended func(string, *exitRecord)) {
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			break
		}
		var m message
		if json.Unmarshal(line, &m) != nil {
			break
		}
		if m.Ended != "" {
			ended(m.Ended, m.Exit)
		}
		if m.Re != 0 {
			c.mu.Lock()
			ch := c.pending[m.Re]
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		}
	}
	close(c.closed)
	c.close()
}

func (c *client) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return
	}
	c.dead = true
	_ = c.c.Close()
	for seq, ch := range c.pending {
		close(ch)
		delete(c.pending, seq)
	}
}

func (c *client) alive() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.dead
}

// client returns the connection to the supervisor, connecting first. With
// spawn, a supervisor is started when none listens, and one started from
// another binary is retired and replaced.
func (e *Executor) client(ctx context.Context, spawn bool) (*client, error) {
	// A connection made to hear of the jobs of a supervisor left by
	// another build (Subscribe) serves for listening only: starts go to a
	// supervisor of this build, which speaks this build's protocol.
	usable := func(cl *client) bool { return cl != nil && cl.alive() && (!spawn || cl.hello.ID == e.id) }
	e.mu.Lock()
	if cl := e.cl; usable(cl) {
		e.mu.Unlock()
		return cl, nil
	}
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return nil, errors.New("the executor is closed")
	}
	e.connMu.Lock()
	defer e.connMu.Unlock()
	e.mu.Lock()
	cl := e.cl
	if usable(cl) {
		e.mu.Unlock()
		return cl, nil
	}
	e.mu.Unlock()
	if cl != nil && cl.alive() {
		e.drop(cl) // the other build's supervisor is retired below
	}
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		cl, err := e.dial(ctx)
		if err == nil && cl.hello.ID != e.id && spawn {
			// A supervisor left by another build: it finishes its
			// jobs, a new one takes the socket.
			// The supervisor closes every connection once it has let go
			// of the socket and its lock.
			_ = cl.send(message{Op: opRetire})
			select {
			case <-cl.closed:
			case <-time.After(e.cfg.StartTimeout):
			case <-ctx.Done():
			}
			cl.close()
			err = fmt.Errorf("the supervisor (pid %d) runs another binary (%s)", cl.hello.PID, cl.hello.ID)
			cl = nil
		}
		if cl != nil {
			e.mu.Lock()
			if e.closed {
				e.mu.Unlock()
				cl.close()
				return nil, errors.New("the executor is closed")
			}
			e.cl = cl
			e.mu.Unlock()
			return cl, nil
		}
		last = err
		if !spawn {
			break
		}
		if err := e.spawn(ctx); err != nil {
			return nil, err
		}
	}
	return nil, last
}

// dial connects to the supervisor and reads its hello.
func (e *Executor) dial(ctx context.Context) (*client, error) {
	path, done, err := socketPath(e.cfg.StateDir)
	if err != nil {
		return nil, err
	}
	var dl net.Dialer
	conn, err := dl.DialContext(ctx, "unix", path)
	done()
	if err != nil {
		return nil, fmt.Errorf("connect to the supervisor: %w", err)
	}
	r := bufio.NewReader(conn)
	deadline := time.Now().Add(e.cfg.StartTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetReadDeadline(deadline)
	line, err := r.ReadBytes('\n')
	var m message
	if err == nil {
		err = json.Unmarshal(line, &m)
	}
	if err == nil && m.Hello == nil {
		err = fmt.Errorf("no hello in %q", line)
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("connect to the supervisor: %w", err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	cl := &client{c: conn, hello: *m.Hello, pending: map[uint64]chan message{}, closed: make(chan struct{})}
	go func() {
		cl.read(r, e.ended)
		e.lost(cl)
	}()
	return cl, nil
}

// lost forgets a connection that broke and, for the subscribers' sake,
// reconnects to a supervisor that still (or already again) listens.
func (e *Executor) lost(cl *client) {
	e.drop(cl)
	e.mu.Lock()
	again := len(e.subs) > 0 && !e.closed
	e.mu.Unlock()
	if again {
		time.AfterFunc(100*time.Millisecond, func() {
			ctx, cancel := context.WithTimeout(context.Background(), e.cfg.StartTimeout)
			defer cancel()
			_, _ = e.client(ctx, false)
		})
	}
}

// drop forgets a broken connection.
func (e *Executor) drop(cl *client) {
	cl.close()
	e.mu.Lock()
	if e.cl == cl {
		e.cl = nil
	}
	e.mu.Unlock()
}

// spawn starts a supervisor for the state directory in a session of its
// own and waits until it listens (or reports that another one does).
func (e *Executor) spawn(ctx context.Context) error {
	supLog, err := os.OpenFile(filepath.Join(e.cfg.StateDir, fileSupDaemon), os.O_WRONLY|os.O_CREATE|os.O_APPEND|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("open supervisor log: %w", err)
	}
	defer supLog.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("supervisor pipe: %w", err)
	}
	defer pr.Close()
	args := append(append([]string(nil), e.cfg.SupervisorCmd[1:]...),
		"-ready-fd", "3", "-grace", e.cfg.KillGrace.String(), "-id", e.id, e.cfg.StateDir)
	cmd := exec.Command(e.cfg.SupervisorCmd[0], args...)
	cmd.Dir = e.cfg.StateDir
	cmd.Stdout = supLog
	cmd.Stderr = supLog
	cmd.ExtraFiles = []*os.File{pw}
	// A session of its own: no controlling terminal, and no signal meant
	// for the server's process group (Ctrl-C, a service manager stopping
	// the server) reaches it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		pw.Close()
		return fmt.Errorf("start supervisor %q: %w", e.cfg.SupervisorCmd[0], err)
	}
	pw.Close()
	// The server reaps its direct child; after a server restart the
	// supervisor is re-parented to init, which reaps it.
	go func() { _ = cmd.Wait() }()

	deadline := time.Now().Add(e.cfg.StartTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = pr.SetReadDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = pr.SetReadDeadline(time.Now()) })
	defer stop()
	line, err := bufio.NewReader(pr).ReadString('\n')
	switch strings.TrimSpace(line) {
	case "ready", "busy":
		return nil
	}
	if errors.Is(err, io.EOF) || strings.TrimSpace(line) == "error" {
		return fmt.Errorf("the supervisor could not start (see %s)", filepath.Join(e.cfg.StateDir, fileSupDaemon))
	}
	if ctx.Err() != nil {
		return fmt.Errorf("wait for the supervisor: %w", ctx.Err())
	}
	return fmt.Errorf("the supervisor did not report: %v", err)
}

// Subscribe registers fn to be called with the handle ID of every local
// execution whose outcome the supervisor has recorded, and that outcome
// (dispatch.Notifier). It connects to a supervisor already running, so that
// jobs adopted after a restart are reported too; a later Start connects
// otherwise.
func (e *Executor) Subscribe(fn func(handleID string, st *dispatch.Status)) {
	e.mu.Lock()
	e.subs = append(e.subs, fn)
	e.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), e.cfg.StartTimeout)
		defer cancel()
		_, _ = e.client(ctx, false)
	}()
}

func (e *Executor) ended(key string, rec *exitRecord) {
	e.mu.Lock()
	subs := e.subs
	e.mu.Unlock()
	var st *dispatch.Status
	if rec != nil {
		s := exitStatus(*rec)
		st = &s
	}
	for _, fn := range subs {
		fn(key, st)
	}
}

// Close drops the connection to the supervisor; jobs keep running and an
// idle supervisor exits. The executor starts nothing after Close.
func (e *Executor) Close() error {
	e.mu.Lock()
	cl := e.cl
	e.cl = nil
	e.closed = true
	e.mu.Unlock()
	if cl != nil {
		cl.close()
	}
	return nil
}
