// Package smtpd is an in-process SMTP server for tests, built on
// github.com/emersion/go-smtp. It listens on 127.0.0.1:0 with a fresh
// self-signed certificate (RootCAs/CertPEM give it to the client), offers
// STARTTLS, implicit TLS or plaintext, and optionally requires AUTH PLAIN
// (a wrong password is answered 535 5.7.8, as real servers do).
//
// Every accepted message is recorded with its envelope, TLS and AUTH facts,
// its raw bytes, its headers with encoded words decoded, and its decoded
// text/plain and text/html parts, so tests assert on what a mail reader
// would show.
//
// Failures are injected per command: FailNext(StageRcpt, 451, 1) answers
// the next RCPT with 451. Stop closes the listener and connections (a
// client then sees "connection refused"); Restart listens again on the
// same port, for retry tests.
package smtpd
