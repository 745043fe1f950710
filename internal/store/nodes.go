package store

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/koyomi-dev/koyomi/internal/jobrun"
)

// RunnerNode is the process that runs a runner under a node name.
type RunnerNode struct {
	Node string
	// Space names the machine boot and PID namespace PID lives in; two
	// nodes with the same Space can tell whether the other's process lives.
	Space string
	PID   int
	// Start is the process's start time (clock ticks since boot), so a
	// reused pid is not taken for the process.
	Start uint64
	At    time.Time
}

type runnerNodeRecord struct {
	Node  string `gorm:"primaryKey"`
	Space string
	PID   int `gorm:"column:pid"`
	Start int64
	At    time.Time
}

func (runnerNodeRecord) TableName() string { return "runner_nodes" }

// RegisterNode records (or replaces) the process of a runner node.
func (s *Store) RegisterNode(ctx context.Context, n RunnerNode) error {
	rec := runnerNodeRecord{Node: n.Node, Space: n.Space, PID: n.PID, Start: int64(n.Start), At: s.now()}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "node"}},
		DoUpdates: clause.AssignmentColumns([]string{"space", "pid", "start", "at"})}).Create(&rec).Error
	return translate(err, "register runner node "+n.Node)
}

// RunnerNodes returns the runner nodes recorded in space.
func (s *Store) RunnerNodes(ctx context.Context, space string) ([]RunnerNode, error) {
	var recs []runnerNodeRecord
	if err := s.db.WithContext(ctx).Where("space = ?", space).Order("node").Find(&recs).Error; err != nil {
		return nil, translate(err, "list runner nodes")
	}
	out := make([]RunnerNode, len(recs))
	for i, r := range recs {
		out[i] = RunnerNode{Node: r.Node, Space: r.Space, PID: r.PID, Start: uint64(r.Start), At: r.At}
	}
	return out, nil
}

// AdoptFrom makes node the owner of the starting and running units that the
// dead nodes claimed (those it may adopt, see adoptable) until until,
// releases their claims on queued units and forgets the dead nodes. It is
// for nodes known dead (their process is gone), whose claims need not
// expire first.
func (s *Store) AdoptFrom(ctx context.Context, dead []string, node, host string, until time.Time) error {
	if len(dead) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&unitRunRecord{}).Where("state IN ? AND claimed_by IN ?", unitInFlight, dead).Where(adoptable(host)).
			Updates(map[string]any{"claimed_by": node, "claim_expires": until.UTC()}).Error; err != nil {
			return translate(err, "adopt units of dead nodes")
		}
		if err := tx.Model(&unitRunRecord{}).Where("state = ? AND claimed_by IN ?", jobrun.StateQueued, dead).
			Updates(map[string]any{"claimed_by": "", "claim_expires": nil}).Error; err != nil {
			return translate(err, "release claims of dead nodes")
		}
		return translate(tx.Where("node IN ?", dead).Delete(&runnerNodeRecord{}).Error, "forget dead runner nodes")
	})
}
