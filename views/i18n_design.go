package views

// designMessages holds the design pages' messages (en, ja).
var designMessages = map[string]map[string]string{
	"en": {},
	"ja": {},
}
