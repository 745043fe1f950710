// Package email is the alert channel that sends alert.Message by SMTP with
// github.com/wneessen/go-mail.
//
// Model: Config (host, port, TLS mode starttls|tls|none, credentials,
// From/To/Cc, trusted CAs, timeout) is validated as a whole by New, every
// problem reported with its field path as fault.Problems. A Channel holds no
// connection; each Send dials, optionally upgrades with STARTTLS
// (mandatory in starttls mode), authenticates with the strongest mechanism
// the server offers (PLAIN/LOGIN only over TLS), sends one
// multipart/alternative message (text, and HTML when rendered) and quits.
//
// Identity: the Message-ID is derived from Message.Key
// (koyomi-alert.<key>@<from domain>, the key hashed when it is not a short
// token) and the key is also sent as X-Koyomi-Key, so a retried delivery
// carries the same identity and receivers can deduplicate it.
//
// Errors: Send returns *SendError. Retryable() is true for 4xx replies
// (including 454 temporary authentication failure), refused, reset or
// timed-out connections and cancelled contexts; false for 5xx replies
// (including 535 rejected credentials), bad addresses, a server without
// STARTTLS or without a usable AUTH mechanism, and TLS verification
// failures; permanent configuration failures unwrap to fault.ErrInvalid.
// The deliverer consumes it through interface{ Retryable() bool }.
//
// Secrets: the password is never part of an error, of String, %v/%#v, or of
// slog output (Config implements slog.LogValuer).
package email
