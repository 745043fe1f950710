package calendar

import "github.com/koyomi-dev/koyomi/calendars"

func bytesOfEmbedded() []byte { return calendars.JapanCSV() }
