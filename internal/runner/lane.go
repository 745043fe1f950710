package runner

import (
	"sync"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// laneKind separates the calls that start executions from those that watch
// them (Status, Statuses, Cancel), so that hung starts on a connection do
// not hide the end of what already runs there.
type laneKind uint8

const (
	laneStart laneKind = iota
	laneWatch
)

// laneKey names one bounded set of workers: an executor, one of its
// connections (empty for executors without connections), and the kind of
// call. A call that hangs holds a worker of its lane only.
type laneKey struct {
	executor jobnet.JobType
	conn     string
	kind     laneKind
}

func (k laneKey) String() string {
	s := string(k.executor)
	if k.conn != "" {
		s += "/" + k.conn
	}
	if k.kind == laneStart {
		return s + " start"
	}
	return s + " watch"
}

// lanes runs executor calls off the pass: each lane has a FIFO queue and at
// most max workers, started when work arrives and gone when the queue is
// empty. The pass never waits for a call; a call reports its result by
// itself (Runner.deliver).
type lanes struct {
	max int

	mu sync.Mutex
	m  map[laneKey]*lane
	wg sync.WaitGroup
}

type lane struct {
	queue   []func()
	workers int
}

func newLanes(max int) *lanes {
	return &lanes{max: max, m: map[laneKey]*lane{}}
}

// submit queues fn on lane k and starts a worker if the lane has fewer than
// max.
func (ls *lanes) submit(k laneKey, fn func()) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l := ls.m[k]
	if l == nil {
		l = &lane{}
		ls.m[k] = l
	}
	l.queue = append(l.queue, fn)
	if l.workers < ls.max {
		l.workers++
		ls.wg.Add(1)
		go ls.work(k, l)
	}
}

func (ls *lanes) work(k laneKey, l *lane) {
	defer ls.wg.Done()
	for {
		ls.mu.Lock()
		if len(l.queue) == 0 {
			l.workers--
			if l.workers == 0 {
				delete(ls.m, k)
			}
			ls.mu.Unlock()
			return
		}
		fn := l.queue[0]
		l.queue[0] = nil
		l.queue = l.queue[1:]
		ls.mu.Unlock()
		fn()
	}
}

// wait returns once every queued call has returned.
func (ls *lanes) wait() { ls.wg.Wait() }
