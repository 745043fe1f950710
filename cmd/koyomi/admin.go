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

Recovers a locked-out installation on the database directly (whoever can
open the database may change it). Without --password-stdin a password is
generated and printed once. A reset ends the user's sessions.`

func cmdAdmin(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "admin", adminSynopsis)
	db := addDBFlags(fs)
	role := fs.String("role", "", "role of the new user: admin, designer, operator or viewer")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin instead of generating one")
	pos, err := parseArgs(e, fs, args, "reset-password|create-user", "USER")
	if err != nil {
		return err
	}
	sub, user := pos[0], pos[1]
	if sub != "reset-password" && sub != "create-user" {
		return fmt.Errorf("admin %q: want reset-password or create-user: %w", sub, errUsage)
	}
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
