package views

// opsMessages holds the ops pages' messages (en, ja).
var opsMessages = map[string]map[string]string{
	"en": {},
	"ja": {},
}
