package views

// calendarMessages holds the calendar pages' messages (en, ja).
var calendarMessages = map[string]map[string]string{
	"en": {},
	"ja": {},
}
