// Package calendars holds Koyomi's built-in calendar data, embedded in the
// binary. Package calendar turns it into holiday sets; this package only
// carries the bytes, so it imports nothing of Koyomi.
package calendars

import _ "embed"

//go:embed jp.csv
var jpCSV []byte

// JapanCSV returns the Cabinet Office list of Japanese national holidays
// (国民の祝日・休日) converted to UTF-8 with LF line endings: a header line
// and rows `YYYY/M/D,名称`. The caller must not modify the returned bytes.
//
// 出典：内閣府ホームページ (https://www8.cao.go.jp/chosei/shukujitsu/gaiyou.html)
func JapanCSV() []byte { return jpCSV }

// JapanCSVSource is the attribution the Cabinet Office's terms of use ask for.
const JapanCSVSource = "出典：内閣府ホームページ (https://www8.cao.go.jp/chosei/shukujitsu/syukujitsu.csv)"
