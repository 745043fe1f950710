package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/seal"
)

// SecretsReport counts the stored secrets (of connections and alert
// channels) by how they are kept.
type SecretsReport struct {
	// KeyConfigured is whether secrets are sealed at all; CurrentKey is
	// the id of the key that seals.
	KeyConfigured bool
	CurrentKey    string
	// Plain secrets were written without a key; Stale ones are sealed
	// with a key other than the current one; Current ones with it.
	Plain, Stale, Current int
	// Resealed is how many RotateSecrets rewrote.
	Resealed int
}

// Pending is the number of secrets rotate-secrets would rewrite.
func (r SecretsReport) Pending() int { return r.Plain + r.Stale }

func (r *SecretsReport) count(stored, current string) {
	if stored == "" {
		return
	}
	switch id, sealed := seal.KeyOf(stored); {
	case !sealed:
		r.Plain++
	case id != current:
		r.Stale++
	default:
		r.Current++
	}
}

// storedSecret is one stored secret: its table, key column and value.
type storedSecret struct {
	table, keyCol, column string
	key                   any
	value                 string
}

func (s *Store) storedSecrets(tx *gorm.DB, lock bool) ([]storedSecret, error) {
	q := func() *gorm.DB {
		if lock {
			return s.lockForUpdate(tx, false)
		}
		return tx
	}
	var out []storedSecret
	var conns []connectionRecord
	if err := q().Select("name", "secret").Find(&conns).Error; err != nil {
		return nil, translate(err, "read connection secrets")
	}
	for _, c := range conns {
		out = append(out, storedSecret{table: "connections", keyCol: "name", column: "secret", key: c.Name, value: c.Secret})
	}
	var chans []alertChannelRecord
	if err := q().Select("id", "secrets").Find(&chans).Error; err != nil {
		return nil, translate(err, "read alert channel secrets")
	}
	for _, c := range chans {
		out = append(out, storedSecret{table: "alert_channels", keyCol: "id", column: "secrets", key: c.ID, value: c.Secrets})
	}
	return out, nil
}

// SecretsStatus reports how the stored secrets are kept.
func (s *Store) SecretsStatus(ctx context.Context) (SecretsReport, error) {
	rep := SecretsReport{KeyConfigured: s.keys != nil, CurrentKey: s.keys.Current()}
	all, err := s.storedSecrets(s.db.WithContext(ctx), false)
	if err != nil {
		return rep, err
	}
	for _, x := range all {
		rep.count(x.value, rep.CurrentKey)
	}
	return rep, nil
}

// RotateSecrets seals every stored secret with the current key: secrets
// stored in plain and those sealed with another listed key are rewritten,
// in one transaction; one that does not open (its key is not listed)
// stops the rotation and changes nothing.
func (s *Store) RotateSecrets(ctx context.Context, by string) (SecretsReport, error) {
	if s.keys == nil {
		return SecretsReport{}, fmt.Errorf("no key to seal with: set %s (ID:KEY, the new key first): %w", seal.EnvVar, fault.ErrInvalid)
	}
	var rep SecretsReport
	err := s.tx(ctx, func(tx *gorm.DB) error {
		rep = SecretsReport{KeyConfigured: true, CurrentKey: s.keys.Current()}
		all, err := s.storedSecrets(tx, true)
		if err != nil {
			return err
		}
		for _, x := range all {
			where := x.table + "." + x.column
			if id, sealed := seal.KeyOf(x.value); x.value == "" || sealed && id == rep.CurrentKey {
				rep.count(x.value, rep.CurrentKey)
				continue
			}
			plain, err := s.keys.Open(x.value, where)
			if err != nil {
				return fmt.Errorf("%s %v: %w", x.table, x.key, err)
			}
			sealed, err := s.keys.Seal(plain, where)
			if err != nil {
				return err
			}
			res := tx.Table(x.table).Where(x.keyCol+" = ? AND "+x.column+" = ?", x.key, x.value).Update(x.column, sealed)
			if res.Error != nil {
				return translate(res.Error, "reseal "+where)
			}
			if res.RowsAffected != 1 {
				return fmt.Errorf("reseal %s %v: changed concurrently: %w", x.table, x.key, fault.ErrConflict)
			}
			rep.Resealed++
			rep.Current++
		}
		return audit(tx, s.now(), AuditEntry{Actor: by, Action: "secrets.rotate", Target: "key/" + rep.CurrentKey,
			Detail: fmt.Sprintf("%d resealed, %d already current", rep.Resealed, rep.Current-rep.Resealed)})
	})
	return rep, err
}
