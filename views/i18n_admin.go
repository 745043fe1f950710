package views

// adminMessages holds the admin pages' messages (en, ja).
var adminMessages = map[string]map[string]string{
	"en": {},
	"ja": {},
}
