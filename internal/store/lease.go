package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// Leases are named, time-bounded leaderships (the planner's is
// "scheduler"). Every change is a guarded update, so at most one holder
// has an unexpired lease at a time. Times come from the store's clock;
// replicas need clocks synchronised well within the TTL (NTP).

type leaseRecord struct {
	Name      string `gorm:"primaryKey"`
	Holder    string
	ExpiresAt time.Time
}

func (leaseRecord) TableName() string { return "leases" }

// Lease is the current holder of a named lease.
type Lease struct {
	Name      string
	Holder    string
	ExpiresAt time.Time
}

// Held reports whether the lease is unexpired at now.
func (l Lease) Held(now time.Time) bool { return l.Holder != "" && now.Before(l.ExpiresAt) }

// AcquireLease takes the named lease for holder for ttl if it is free,
// expired or already holder's (then it is renewed). It reports whether
// holder holds the lease afterwards.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if name == "" || holder == "" || ttl <= 0 {
		return false, fmt.Errorf("acquire lease %q for %q (ttl %s): name, holder and a positive ttl are required: %w", name, holder, ttl, fault.ErrInvalid)
	}
	now := s.now()
	db := s.db.WithContext(ctx)
	res := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&leaseRecord{Name: name, Holder: holder, ExpiresAt: now.Add(ttl)})
	if res.Error != nil {
		return false, translate(res.Error, "acquire lease "+name)
	}
	if res.RowsAffected == 1 {
		return true, nil
	}
	res = db.Model(&leaseRecord{}).Where("name = ? AND (holder = ? OR expires_at <= ?)", name, holder, now).
		Updates(map[string]any{"holder": holder, "expires_at": now.Add(ttl)})
	if res.Error != nil {
		return false, translate(res.Error, "acquire lease "+name)
	}
	return res.RowsAffected == 1, nil
}

// RenewLease extends holder's lease by ttl from now. It reports false when
// another holder took the lease (holder lost it and must stop leading).
// An expired lease nobody else took is still holder's to renew.
func (s *Store) RenewLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	now := s.now()
	res := s.db.WithContext(ctx).Model(&leaseRecord{}).Where("name = ? AND holder = ?", name, holder).
		Updates(map[string]any{"expires_at": now.Add(ttl)})
	if res.Error != nil {
		return false, translate(res.Error, "renew lease "+name)
	}
	return res.RowsAffected == 1, nil
}

// ReleaseLease gives the lease up (it expires now) if holder holds it, so
// another replica can take over at once. Releasing a lease one does not
// hold is not an error.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	res := s.db.WithContext(ctx).Model(&leaseRecord{}).Where("name = ? AND holder = ?", name, holder).
		Updates(map[string]any{"expires_at": s.now()})
	return translate(res.Error, "release lease "+name)
}

// LeaseInfo returns the named lease; a lease never taken is the zero Lease
// with its name.
func (s *Store) LeaseInfo(ctx context.Context, name string) (Lease, error) {
	var r leaseRecord
	err := s.db.WithContext(ctx).Where("name = ?", name).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Lease{Name: name}, nil
	}
	if err != nil {
		return Lease{}, translate(err, "read lease "+name)
	}
	return Lease{Name: r.Name, Holder: r.Holder, ExpiresAt: r.ExpiresAt.UTC()}, nil
}
