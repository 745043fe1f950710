// Package seal encrypts secrets at rest: the secrets of alert channels and
// connections are stored sealed with AES-256-GCM under a key given in the
// environment, never in the database.
//
// # Keys
//
// A Keyring is parsed from KOYOMI_SECRET_KEY: a comma-separated list of
// ID:KEY pairs, KEY being 32 random bytes in base64 (`openssl rand -base64
// 32`), ID a short name of the operator's choosing (letters, digits, '-',
// '_'). The first key seals everything written; every listed key opens
// what it sealed. Rotation: put the new key first and keep the old one
// listed, run `koyomi admin rotate-secrets` (which reseals every stored
// secret under the first key, and seals the ones stored in plain), then
// drop the old key.
//
// # Format
//
// A sealed value is the text `sealed:v1:ID:DATA`, DATA being the base64url
// (unpadded) of a random 12-byte nonce followed by the GCM ciphertext and
// tag. The additional data binds a value to where it is stored (the table
// and column), so a sealed value moved to another column does not open.
// Any other text is a value stored in plain (written before a key was set,
// or with none): Open returns it as it is, Seal without a keyring
// stores it so.
package seal
