package ecs_test

import "errors"

var errNoCreds = errors.New("no EC2 IMDS role found; no credentials in the environment")

func errorsAsImpl(err error, target any) bool { return errors.As(err, target) }
