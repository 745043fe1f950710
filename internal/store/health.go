package store

import (
	"context"
	"fmt"
	"os"
	"time"

	"gorm.io/gorm/clause"
)

type healthProbeRecord struct {
	Node string `gorm:"primaryKey"`
	At   time.Time
}

func (healthProbeRecord) TableName() string { return "health_probes" }

// CheckWritable proves the database takes writes: it rewrites node's row of
// health_probes, and for the embedded database also checks that the file it
// opened is still the one at its path (a deleted or replaced file keeps
// answering through the open handle while everything written is lost).
func (s *Store) CheckWritable(ctx context.Context, node string) error {
	if s.dialect == DialectSQLite && s.fileInfo != nil {
		fi, err := os.Stat(s.location)
		if err != nil {
			return fmt.Errorf("database file %s: %w", s.location, err)
		}
		if !os.SameFile(fi, s.fileInfo) {
			return fmt.Errorf("database file %s was replaced after koyomi opened it", s.location)
		}
	}
	rec := healthProbeRecord{Node: node, At: s.now()}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "node"}}, DoUpdates: clause.AssignmentColumns([]string{"at"})}).Create(&rec).Error
	return translate(err, "write a health probe")
}
