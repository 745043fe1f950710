package pages

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/koyomi-dev/koyomi/views"
)

func queryEscape(s string) string { return url.QueryEscape(s) }

// actionClass groups audit actions for colouring: "user.create" → "create".
func actionClass(action string) string {
	last := action
	if i := strings.LastIndexByte(action, '.'); i >= 0 {
		last = action[i+1:]
	}
	switch last {
	case "create", "login", "enable", "apply", "save":
		return "add"
	case "delete", "revoke", "failed", "disable", "kill":
		return "del"
	}
	return "chg"
}

// errorTitle is the translated title of an error page (HTTP status text as
// the fallback).
func errorTitle(ctx context.Context, v ErrorView) string {
	key := "error.status." + strconv.Itoa(v.Status)
	if t := views.T(ctx, key); t != key {
		return t
	}
	return v.Title
}
