package store

import (
	"context"
)

// CountGenerationsByState counts generations per state.
func (s *Store) CountGenerationsByState(ctx context.Context) ([]StateCount, error) {
	var out []StateCount
	err := s.db.WithContext(ctx).Model(&generationRecord{}).Select("state, COUNT(*) AS n").Group("state").Order("state").Scan(&out).Error
	return out, translate(err, "count generations")
}

// CountUnitsByState counts unit runs per state, for units of generations
// that have not ended (the live work) and all ended ones together.
func (s *Store) CountUnitsByState(ctx context.Context) ([]StateCount, error) {
	var out []StateCount
	err := s.db.WithContext(ctx).Model(&unitRunRecord{}).Select("state, COUNT(*) AS n").Group("state").Order("state").Scan(&out).Error
	return out, translate(err, "count unit runs")
}
