package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
)

const adminSynopsis = `admin reset-password USER [--password-stdin]
       koyomi admin create-user USER --role admin|designer|operator|viewer [--password-stdin]
       koyomi admin rotate-secrets

Recovers a locked-out installation on the database directly (whoever can
open the database may change it). Without --password-stdin a password is
generated and printed once. A reset ends the user's sessions.

rotate-secrets seals every stored secret of connections and alert channels
with the first key of KOYOMI_SECRET_KEY (ID:KEY,ID:KEY…), reading those
sealed with any listed key and those stored unencrypted.`

func cmdAdmin(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "admin", adminSynopsis)
	db := addDBFlags(fs)
	role := fs.String("role", "", "role of the new user: admin, designer, operator or viewer")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin instead of generating one")
	pos, err := parseArgs(e, fs, args, "reset-password|create-user|rotate-secrets", "[USER]")
	if err != nil {
		return err
	}
	sub := pos[0]
	if sub == "rotate-secrets" {
		if len(pos) > 1 || *role != "" || *fromStdin {
			return fmt.Errorf("admin rotate-secrets takes no user, --role or --password-stdin: %w", errUsage)
		}
		return rotateSecrets(ctx, e, db)
	}
	if sub != "reset-password" && sub != "create-user" {
		return fmt.Errorf("admin %q: want reset-password, create-user or rotate-secrets: %w", sub, errUsage)
	}
	if len(pos) < 2 {
		return fmt.Errorf("admin %s: USER is missing: %w", sub, errUsage)
	}
	user := pos[1]
	if sub == "reset-password" && *role != "" {
		return fmt.Errorf("admin reset-password: --role is for create-user: %w", errUsage)
	}
	password, generated := "", false
	if *fromStdin {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("read the password from stdin: %w: %w", err, errUsage)
		}
		password = strings.TrimRight(line, "\r\n")
	} else {
		if password, err = ops.GeneratePassword(); err != nil {
			return err
		}
		generated = true
	}
	s, err := db.open(ctx, e)
	if err != nil {
		return err
	}
	defer s.Close()
	svc := ops.New(ops.Params{Store: s})
	actor := cliActor(e)
	switch sub {
	case "reset-password":
		u, err := s.UserByName(ctx, user)
		if err != nil {
			return err
		}
		if err := svc.ResetPassword(ctx, actor, u.ID, password); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "password of %q reset; their sessions are ended\n", user)
	case "create-user":
		if _, err := svc.CreateUser(ctx, actor, user, password, store.Role(*role)); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "created user %q (%s)\n", user, *role)
	}
	if generated {
		fmt.Fprintf(e.stdout, "password: %s\n(generated now and not shown again; change it under Account)\n", password)
	}
	return nil
}

func rotateSecrets(ctx context.Context, e env, db dbFlags) error {
	s, err := db.open(ctx, e)
	if err != nil {
		return err
	}
	defer s.Close()
	rep, err := ops.New(ops.Params{Store: s}).RotateSecrets(ctx, cliActor(e))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "secrets sealed with key %q: %d resealed now, %d already were\n", rep.CurrentKey, rep.Resealed, rep.Current-rep.Resealed)
	return nil
}
