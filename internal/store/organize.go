package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
)

// Renaming, moving and deleting jobnets and folders. A jobnet keeps its row
// (its id) through a rename or a move: its versions and generations stay its
// own, the move is a new version whose definition carries the new folder and
// name, and its generations are listed under the new path from then on.
// Deleting keeps the row too (deleted_at, the name suffixed ~ID): the
// versions and past runs of a deleted jobnet still read as they did.

// JobnetMove is one jobnet to store under a new folder or name: Jobnet is
// its current definition (version Expect) with the new folder and name.
type JobnetMove struct {
	Folder, Name string
	Expect       int
	Jobnet       *jobnet.Jobnet
}

// MoveJobnet renames or moves one jobnet in one transaction with its audit
// entry and returns the new version. A jobnet at the new path, a missing
// folder or a newer current version than m.Expect is a conflict.
func (s *Store) MoveJobnet(ctx context.Context, m JobnetMove, a AuditEntry) (int, error) {
	var version int
	err := s.tx(ctx, func(tx *gorm.DB) error {
		v, err := s.moveJobnet(tx, m, a.Actor)
		if err != nil {
			return err
		}
		version = v
		return audit(tx, s.now(), a)
	})
	return version, err
}

func (s *Store) moveJobnet(tx *gorm.DB, m JobnetMove, actor string) (int, error) {
	from := m.Folder + "/" + m.Name
	to := m.Jobnet.Path()
	var rec jobnetRecord
	if err := s.lockForUpdate(tx, false).Where("folder = ? AND name = ? AND deleted_at IS NULL", m.Folder, m.Name).Take(&rec).Error; err != nil {
		return 0, translate(err, fmt.Sprintf("jobnet %q", from))
	}
	if rec.CurrentVersion != m.Expect {
		return 0, fmt.Errorf("move jobnet %s: changed meanwhile (version %d, not %d): %w", from, rec.CurrentVersion, m.Expect, fault.ErrConflict)
	}
	var n int64
	if err := tx.Model(&folderRecord{}).Where("name = ? AND deleted_at IS NULL", m.Jobnet.Folder).Count(&n).Error; err != nil {
		return 0, translate(err, "read folder "+m.Jobnet.Folder)
	}
	if n == 0 {
		return 0, fmt.Errorf("move jobnet %s to %s: folder %q: %w", from, to, m.Jobnet.Folder, fault.ErrNotFound)
	}
	if to != from {
		if err := tx.Model(&jobnetRecord{}).Where("folder = ? AND name = ?", m.Jobnet.Folder, m.Jobnet.Name).Count(&n).Error; err != nil {
			return 0, translate(err, "read jobnet "+to)
		}
		if n > 0 {
			return 0, fmt.Errorf("move jobnet %s to %s: a jobnet %s exists already: %w", from, to, to, fault.ErrConflict)
		}
	}
	body, hash, err := encodeHashed(m.Jobnet)
	if err != nil {
		return 0, err
	}
	now := s.now()
	next := rec.CurrentVersion + 1
	res := tx.Model(&jobnetRecord{}).Where("id = ? AND current_version = ?", rec.ID, rec.CurrentVersion).
		Updates(map[string]any{"folder": m.Jobnet.Folder, "name": m.Jobnet.Name, "title": m.Jobnet.Title, "current_version": next, "updated_at": now})
	if res.Error != nil {
		return 0, translate(res.Error, "move jobnet "+from)
	}
	if res.RowsAffected != 1 {
		return 0, fmt.Errorf("move jobnet %s: changed by someone else meanwhile: %w", from, fault.ErrConflict)
	}
	if err := tx.Create(&jobnetVersionRecord{JobnetID: rec.ID, Version: next, Hash: hash, Definition: body, CreatedBy: actor, CreatedAt: now}).Error; err != nil {
		return 0, translate(err, "create jobnet version "+to)
	}
	if err := tx.Model(&generationRecord{}).Where("jobnet_id = ?", rec.ID).
		Updates(map[string]any{"jobnet_path": to, "folder": m.Jobnet.Folder}).Error; err != nil {
		return 0, translate(err, "move the generations of "+from)
	}
	return next, nil
}

// DeleteJobnet deletes a jobnet: it leaves every list and its name is free;
// its versions and past runs stay. Generations that have not started are
// ended as not executed (their ids are returned); a generation that runs is
// a conflict (kill it or let it end first).
func (s *Store) DeleteJobnet(ctx context.Context, folder, name string, a AuditEntry) ([]string, error) {
	path := folder + "/" + name
	var cancelled []string
	err := s.tx(ctx, func(tx *gorm.DB) error {
		cancelled = nil
		var rec jobnetRecord
		if err := s.lockForUpdate(tx, false).Where("folder = ? AND name = ? AND deleted_at IS NULL", folder, name).Take(&rec).Error; err != nil {
			return translate(err, fmt.Sprintf("jobnet %q", path))
		}
		var running []string
		if err := tx.Model(&generationRecord{}).Where("jobnet_id = ? AND started_at IS NOT NULL AND ended_at IS NULL", rec.ID).
			Order("id").Pluck("id", &running).Error; err != nil {
			return translate(err, "read the generations of "+path)
		}
		if len(running) > 0 {
			return fmt.Errorf("delete jobnet %s: generation(s) %s are running; kill them or let them end first: %w", path, strings.Join(running, ", "), fault.ErrConflict)
		}
		unstarted := []string{string(jobrun.GenPlanned), string(jobrun.GenWaiting), string(jobrun.GenHeld)}
		q := tx.Model(&generationRecord{}).Where("jobnet_id = ? AND started_at IS NULL AND state IN ?", rec.ID, unstarted)
		if err := q.Order("id").Pluck("id", &cancelled).Error; err != nil {
			return translate(err, "read the generations of "+path)
		}
		now := s.now()
		if len(cancelled) > 0 {
			if err := tx.Model(&generationRecord{}).Where("id IN ? AND started_at IS NULL AND state IN ?", cancelled, unstarted).
				Updates(map[string]any{"state": string(jobrun.GenNotExecuted), "held": false, "reason": "jobnet deleted", "ended_at": now, "updated_at": now}).Error; err != nil {
				return translate(err, "cancel the generations of "+path)
			}
		}
		res := tx.Model(&jobnetRecord{}).Where("id = ? AND deleted_at IS NULL", rec.ID).
			Updates(map[string]any{"name": fmt.Sprintf("%s~%d", rec.Name, rec.ID), "deleted_at": now, "updated_at": now})
		if res.Error != nil {
			return translate(res.Error, "delete jobnet "+path)
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("delete jobnet %s: changed by someone else meanwhile: %w", path, fault.ErrConflict)
		}
		if len(cancelled) > 0 {
			a.Detail = strings.TrimSpace(a.Detail + fmt.Sprintf(" (%d unstarted generation(s) not executed)", len(cancelled)))
		}
		return audit(tx, now, a)
	})
	if err != nil {
		return nil, err
	}
	return cancelled, nil
}

// RenameFolder creates the folder to (with from's description and
// calendar unless to gives them), moves every jobnet of from into it as
// moves say, and deletes from, in one transaction. A jobnet of from that
// moves does not name is a conflict (it was created meanwhile).
func (s *Store) RenameFolder(ctx context.Context, from string, to jobnet.Folder, moves []JobnetMove, a AuditEntry) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		now := s.now()
		var rec folderRecord
		if err := s.lockForUpdate(tx, false).Where("name = ? AND deleted_at IS NULL", from).Take(&rec).Error; err != nil {
			return translate(err, fmt.Sprintf("folder %q", from))
		}
		var dst folderRecord
		err := tx.Where("name = ?", to.Name).Take(&dst).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			if err := tx.Create(&folderRecord{Name: to.Name, Description: to.Description, Calendar: to.Calendar, CreatedAt: now, UpdatedAt: now}).Error; err != nil {
				return translate(err, "create folder "+to.Name)
			}
		case err != nil:
			return translate(err, "read folder "+to.Name)
		case dst.DeletedAt == nil:
			return fmt.Errorf("rename folder %s to %s: a folder %s exists already: %w", from, to.Name, to.Name, fault.ErrConflict)
		default:
			if err := tx.Model(&folderRecord{}).Where("name = ?", to.Name).
				Updates(map[string]any{"description": to.Description, "calendar": to.Calendar, "deleted_at": nil, "created_at": now, "updated_at": now}).Error; err != nil {
				return translate(err, "create folder "+to.Name)
			}
		}
		var live int64
		if err := tx.Model(&jobnetRecord{}).Where("folder = ? AND deleted_at IS NULL", from).Count(&live).Error; err != nil {
			return translate(err, "list the jobnets of "+from)
		}
		if int(live) != len(moves) {
			return fmt.Errorf("rename folder %s: its jobnets changed meanwhile: %w", from, fault.ErrConflict)
		}
		for _, m := range moves {
			if _, err := s.moveJobnet(tx, m, a.Actor); err != nil {
				return err
			}
		}
		if err := deleteFolder(tx, from, now); err != nil {
			return err
		}
		return audit(tx, now, a)
	})
}

// DeleteFolder deletes a folder that holds no jobnet (a deleted jobnet does
// not count); one that holds some is a conflict naming them.
func (s *Store) DeleteFolder(ctx context.Context, name string, a AuditEntry) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		now := s.now()
		if err := deleteFolder(tx, name, now); err != nil {
			return err
		}
		return audit(tx, now, a)
	})
}

func deleteFolder(tx *gorm.DB, name string, now time.Time) error {
	var names []string
	if err := tx.Model(&jobnetRecord{}).Where("folder = ? AND deleted_at IS NULL", name).Order("name").Pluck("name", &names).Error; err != nil {
		return translate(err, "list the jobnets of "+name)
	}
	if len(names) > 0 {
		return fmt.Errorf("delete folder %s: it holds jobnet(s) %s; move or delete them first: %w", name, strings.Join(names, ", "), fault.ErrConflict)
	}
	res := tx.Model(&folderRecord{}).Where("name = ? AND deleted_at IS NULL", name).Updates(map[string]any{"deleted_at": now, "updated_at": now})
	if res.Error != nil {
		return translate(res.Error, "delete folder "+name)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("folder %q: %w", name, fault.ErrNotFound)
	}
	return nil
}

// JobnetTitles returns the display names of the jobnets that have one, by
// path (folder/name), for lists of runs.
func (s *Store) JobnetTitles(ctx context.Context) (map[string]string, error) {
	var recs []jobnetRecord
	if err := s.db.WithContext(ctx).Select("folder", "name", "title").Where("deleted_at IS NULL AND title <> ''").Find(&recs).Error; err != nil {
		return nil, translate(err, "list jobnet titles")
	}
	out := make(map[string]string, len(recs))
	for _, r := range recs {
		out[r.Folder+"/"+r.Name] = r.Title
	}
	return out, nil
}
