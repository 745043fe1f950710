package store

import (
	"context"
	"fmt"
	"regexp"
)

// installationRE is the form of an installation id: 12 hex digits.
var installationRE = regexp.MustCompile(`^[0-9a-f]{12}$`)

// InstallationID returns the id of this installation, created once with
// the schema (migration 00100) and never changed. It is part of every
// dispatch key (jobrun.DispatchKey) and of the labels of the pods Koyomi
// creates, so that two installations sharing a cluster never take each
// other's executions for their own.
func (s *Store) InstallationID(ctx context.Context) (string, error) {
	if v, ok := s.installation.Load().(string); ok {
		return v, nil
	}
	var ids []string
	if err := s.db.WithContext(ctx).Table("installation").Order("created_at").Limit(2).Pluck("id", &ids).Error; err != nil {
		return "", translate(err, "read the installation id")
	}
	if len(ids) != 1 || !installationRE.MatchString(ids[0]) {
		return "", fmt.Errorf("read the installation id: want one row of 12 hex digits in table installation, found %q (was the database migrated?)", ids)
	}
	s.installation.Store(ids[0])
	return ids[0], nil
}
