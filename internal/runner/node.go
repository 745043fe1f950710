package runner

import (
	"os"
	"strconv"
	"strings"

	"github.com/koyomi-dev/koyomi/internal/store"
)

// How a runner on PostgreSQL learns at start that the node whose claims it
// sees is dead, when it starts under another node name (the default --node,
// host-pid, changes on every start): every runner records its process in
// runner_nodes (store.RegisterNode) with the space its pid means something
// in (the machine's boot id and its PID namespace). At attach, a node of the
// same space whose process is gone, or is another process now (its start
// time differs), is dead: its units are adopted at once (store.AdoptFrom)
// instead of when its claims expire. Nodes of other spaces (other machines,
// other containers) may be alive; their claims are left to expire.

// processSpace names the machine boot and PID namespace this process runs
// in, or "" where /proc does not tell (then no node is ever judged dead).
func processSpace() string {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	b := strings.TrimSpace(string(boot))
	if b == "" {
		return ""
	}
	return b + "/" + ns
}

// procStart returns pid's start time in clock ticks since boot, or 0 when
// no such process exists (or it is a zombie, which has ended).
func procStart(pid int) uint64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name in parentheses may contain anything; the fields
	// follow the last ')': state is the first, starttime the 20th.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 || fields[0] == "Z" || fields[0] == "X" {
		return 0
	}
	v, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// deadNodes decides which recorded nodes of this runner's space are dead:
// every one but self whose pid now runs no process or another one (starts:
// the start time observed for each pid, 0 for none).
func deadNodes(nodes []store.RunnerNode, self string, starts map[int]uint64) []string {
	var dead []string
	for _, n := range nodes {
		if n.Node == self {
			continue
		}
		if st := starts[n.PID]; st == 0 || st != n.Start {
			dead = append(dead, n.Node)
		}
	}
	return dead
}
