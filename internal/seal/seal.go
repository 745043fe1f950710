package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// EnvVar is the environment variable holding the keys.
const EnvVar = "KOYOMI_SECRET_KEY"

// prefix starts every sealed value.
const prefix = "sealed:v1:"

var idRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// key is one named AES-256-GCM key.
type key struct {
	id   string
	aead cipher.AEAD
}

// Keyring holds the keys: the first seals, all open. A nil *Keyring is
// valid and means no key is configured.
type Keyring struct {
	keys []key
}

// ParseKeys parses the ID:BASE64 list of EnvVar; an empty text gives nil
// (no key). Every problem names the entry it is in.
func ParseKeys(text string) (*Keyring, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, nil
	}
	var (
		k    Keyring
		errs []string
		seen = map[string]bool{}
	)
	for i, entry := range strings.Split(text, ",") {
		entry = strings.TrimSpace(entry)
		id, b64, ok := strings.Cut(entry, ":")
		if !ok {
			errs = append(errs, fmt.Sprintf("entry %d: want ID:KEY (KEY = 32 bytes in base64, e.g. from `openssl rand -base64 32`)", i+1))
			continue
		}
		if !idRE.MatchString(id) {
			errs = append(errs, fmt.Sprintf("entry %d: key id %q: want 1-32 letters, digits, '-' or '_'", i+1, id))
			continue
		}
		if seen[id] {
			errs = append(errs, fmt.Sprintf("entry %d: key id %q is listed twice", i+1, id))
			continue
		}
		seen[id] = true
		raw, err := decodeKey(b64)
		if err != nil {
			errs = append(errs, fmt.Sprintf("entry %d (key %q): %v", i+1, id, err))
			continue
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			errs = append(errs, fmt.Sprintf("entry %d (key %q): %v", i+1, id, err))
			continue
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			errs = append(errs, fmt.Sprintf("entry %d (key %q): %v", i+1, id, err))
			continue
		}
		k.keys = append(k.keys, key{id: id, aead: aead})
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %s: %w", EnvVar, strings.Join(errs, "; "), fault.ErrInvalid)
	}
	return &k, nil
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != 32 {
				return nil, fmt.Errorf("the key is %d bytes, want 32 (AES-256)", len(b))
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("the key is not base64")
}

// Current is the id of the key that seals, "" without keys.
func (k *Keyring) Current() string {
	if k == nil || len(k.keys) == 0 {
		return ""
	}
	return k.keys[0].id
}

// IDs lists the key ids, the sealing one first.
func (k *Keyring) IDs() []string {
	if k == nil {
		return nil
	}
	out := make([]string, len(k.keys))
	for i, x := range k.keys {
		out[i] = x.id
	}
	return out
}

// KeyOf returns the id of the key a stored value was sealed with, and
// false for a value stored in plain.
func KeyOf(stored string) (string, bool) {
	rest, ok := strings.CutPrefix(stored, prefix)
	if !ok {
		return "", false
	}
	id, _, ok := strings.Cut(rest, ":")
	return id, ok
}

// Seal returns the stored form of plain, bound to where (the table and
// column). The empty text stays empty (no secret); without keys the value
// is stored in plain.
func (k *Keyring) Seal(plain, where string) (string, error) {
	if plain == "" || k == nil || len(k.keys) == 0 {
		return plain, nil
	}
	x := k.keys[0]
	nonce := make([]byte, x.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal %s: %w", where, err)
	}
	data := x.aead.Seal(nonce, nonce, []byte(plain), []byte(where))
	return prefix + x.id + ":" + base64.RawURLEncoding.EncodeToString(data), nil
}

// Open returns the plain text of a stored value: a value stored in plain
// as it is, a sealed one opened with its key. A sealed value whose key is
// not listed, or that does not open, is an error saying which key it
// needs.
func (k *Keyring) Open(stored, where string) (string, error) {
	id, sealed := KeyOf(stored)
	if !sealed {
		return stored, nil
	}
	var aead cipher.AEAD
	if k != nil {
		for _, x := range k.keys {
			if x.id == id {
				aead = x.aead
			}
		}
	}
	if aead == nil {
		return "", fmt.Errorf("%s is sealed with key %q, which %s does not list (it lists %q): %w", where, id, EnvVar, k.IDs(), fault.ErrInvalid)
	}
	data, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(stored, prefix+id+":"))
	if err != nil || len(data) < aead.NonceSize()+aead.Overhead() {
		return "", fmt.Errorf("%s: the sealed value is damaged: %w", where, fault.ErrInvalid)
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, data[:n], data[n:], []byte(where))
	if err != nil {
		return "", fmt.Errorf("%s does not open with key %q (a different key under the same id, or a damaged value): %w", where, id, fault.ErrInvalid)
	}
	return string(plain), nil
}
