package email

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/textproto"
	"regexp"
	"strings"
	"syscall"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/fault"
)

// TLSMode is how the connection to the SMTP server is secured.
type TLSMode string

const (
	// TLSStartTLS connects in plaintext and requires STARTTLS before AUTH
	// and MAIL (port 587). A server without STARTTLS is an error.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (SMTPS, port 465).
	TLSImplicit TLSMode = "tls"
	// TLSNone never uses TLS (a relay on a trusted network, port 25). Only
	// challenge-response AUTH mechanisms are used in this mode.
	TLSNone TLSMode = "none"
)

// Defaults.
const (
	TimeoutDefault = 30 * time.Second
	PortStartTLS   = 587
	PortImplicit   = 465
	PortNone       = 25
)

// HeaderKey carries Message.Key so a receiving system can deduplicate.
const HeaderKey = "X-Koyomi-Key"

// Config is one email channel's connection and addressing.
type Config struct {
	Host string `json:"host"`
	// Port defaults by TLS mode: 587, 465 or 25.
	Port int `json:"port,omitempty"`
	// TLS defaults to TLSStartTLS.
	TLS      TLSMode  `json:"tls,omitempty"`
	Username string   `json:"username,omitempty"`
	Password string   `json:"password,omitempty"`
	From     string   `json:"from"`
	To       []string `json:"to"`
	Cc       []string `json:"cc,omitempty"`
	// InsecureSkipVerify accepts any server certificate.
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty"`
	// RootCAs is PEM of the CAs to trust instead of the system pool.
	RootCAs string `json:"root_cas,omitempty"`
	// Timeout bounds connecting and each SMTP command; default TimeoutDefault.
	Timeout time.Duration `json:"timeout,omitempty"`
}

// String describes the config without the password.
func (c Config) String() string {
	pw := ""
	if c.Password != "" {
		pw = " password=REDACTED"
	}
	return fmt.Sprintf("smtp %s:%d tls=%s user=%q%s from=%q to=%q cc=%q", c.Host, c.Port, c.TLS, c.Username, pw, c.From, c.To, c.Cc)
}

// LogValue keeps the password out of slog output.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("host", c.Host), slog.Int("port", c.Port), slog.String("tls", string(c.TLS)),
		slog.String("username", c.Username), slog.Bool("password_set", c.Password != ""),
		slog.String("from", c.From), slog.Any("to", c.To), slog.Any("cc", c.Cc),
	)
}

// GoString keeps the password out of %#v.
func (c Config) GoString() string { return c.String() }

// withDefaults fills the port, TLS mode and timeout.
func (c Config) withDefaults() Config {
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if c.Port == 0 {
		switch c.TLS {
		case TLSImplicit:
			c.Port = PortImplicit
		case TLSNone:
			c.Port = PortNone
		default:
			c.Port = PortStartTLS
		}
	}
	if c.Timeout == 0 {
		c.Timeout = TimeoutDefault
	}
	return c
}

var hostRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)

// Validate returns every problem of the config (after defaults), as
// fault.Problems with field paths. The password never appears.
func (c Config) Validate() error {
	c = c.withDefaults()
	var ps fault.Problems
	switch {
	case c.Host == "":
		ps.Add("host", "is required")
	case net.ParseIP(strings.Trim(c.Host, "[]")) == nil && !hostRE.MatchString(c.Host):
		ps.Add("host", "%q is not a host name or IP address", c.Host)
	}
	if c.Port < 1 || c.Port > 65535 {
		ps.Add("port", "%d is out of range 1-65535", c.Port)
	}
	switch c.TLS {
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		ps.Add("tls", "%q is not one of starttls, tls, none", c.TLS)
	}
	if c.Password != "" && c.Username == "" {
		ps.Add("username", "is required when a password is set")
	}
	if c.From == "" {
		ps.Add("from", "is required")
	} else if _, err := mail.ParseAddress(c.From); err != nil {
		ps.Add("from", "%q is not an email address", c.From)
	}
	if len(c.To) == 0 {
		ps.Add("to", "needs at least one address")
	}
	for i, a := range c.To {
		if _, err := mail.ParseAddress(a); err != nil {
			ps.Add(fmt.Sprintf("to[%d]", i), "%q is not an email address", a)
		}
	}
	for i, a := range c.Cc {
		if _, err := mail.ParseAddress(a); err != nil {
			ps.Add(fmt.Sprintf("cc[%d]", i), "%q is not an email address", a)
		}
	}
	if c.RootCAs != "" {
		if ok := x509.NewCertPool().AppendCertsFromPEM([]byte(c.RootCAs)); !ok {
			ps.Add("root_cas", "holds no PEM certificate")
		}
	}
	if c.Timeout < 0 {
		ps.Add("timeout", "must not be negative")
	}
	if err := ps.Err(); err != nil {
		return fmt.Errorf("email channel config: %w", err)
	}
	return nil
}

// Channel sends alert messages by SMTP. It holds no connection: each Send
// dials, sends one message and quits. Safe for concurrent use.
type Channel struct {
	cfg  Config
	pool *x509.CertPool
}

// New validates cfg and returns a channel.
func New(cfg Config) (*Channel, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ch := &Channel{cfg: cfg}
	if cfg.RootCAs != "" {
		ch.pool = x509.NewCertPool()
		ch.pool.AppendCertsFromPEM([]byte(cfg.RootCAs))
	}
	return ch, nil
}

// String describes the channel without secrets.
func (c *Channel) String() string { return "email channel " + c.cfg.String() }

// Send delivers msg as multipart/alternative (text and, when present,
// HTML). The Message-ID is derived from msg.Key, which is also sent as the
// X-Koyomi-Key header, so a retried delivery carries the same identity.
// A failure is a *SendError telling whether a retry can help.
func (c *Channel) Send(ctx context.Context, msg alert.Message) error {
	m, err := c.build(msg)
	if err != nil {
		return &SendError{Op: "build message", err: err}
	}
	client, err := c.client()
	if err != nil {
		return &SendError{Op: "configure client", err: err}
	}
	sc, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return classifyDial(c.cfg, err)
	}
	err = client.SendWithSMTPClient(sc, m)
	// The message is accepted once DATA is answered; a failing QUIT after
	// that does not make it undelivered.
	_ = client.CloseWithSMTPClient(sc)
	if err != nil {
		return classifySend(err)
	}
	return nil
}

func (c *Channel) client() (*gomail.Client, error) {
	opts := []gomail.Option{
		gomail.WithPort(c.cfg.Port),
		gomail.WithTimeout(c.cfg.Timeout),
		gomail.WithTLSConfig(&tls.Config{
			ServerName:         c.cfg.Host,
			RootCAs:            c.pool,
			InsecureSkipVerify: c.cfg.InsecureSkipVerify, //nolint:gosec // explicit operator choice
			MinVersion:         tls.VersionTLS12,
		}),
	}
	switch c.cfg.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if c.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(c.cfg.Username), gomail.WithPassword(c.cfg.Password))
	}
	return gomail.NewClient(c.cfg.Host, opts...)
}

func (c *Channel) build(msg alert.Message) (*gomail.Msg, error) {
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := m.From(c.cfg.From); err != nil {
		return nil, fmt.Errorf("from %q: %w", c.cfg.From, err)
	}
	if err := m.To(c.cfg.To...); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	if len(c.cfg.Cc) > 0 {
		if err := m.Cc(c.cfg.Cc...); err != nil {
			return nil, fmt.Errorf("cc: %w", err)
		}
	}
	m.Subject(msg.Subject)
	m.SetMessageIDWithValue(MessageID(msg.Key, c.cfg.From))
	m.SetDate()
	m.SetUserAgent("Koyomi")
	if msg.Key != "" {
		m.SetGenHeader(HeaderKey, msg.Key)
	}
	m.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	return m, nil
}

var safeKeyRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// MessageID returns the Message-ID (without angle brackets) for key: the
// key itself when it is short and made of safe characters, else a hash of
// it, at the domain of the From address.
func MessageID(key, from string) string {
	domain := "koyomi.invalid"
	if a, err := mail.ParseAddress(from); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 && i < len(a.Address)-1 {
			domain = a.Address[i+1:]
		}
	}
	local := key
	if !safeKeyRE.MatchString(key) {
		sum := sha256.Sum256([]byte(key))
		local = hex.EncodeToString(sum[:16])
	}
	return "koyomi-alert." + local + "@" + domain
}

// SendError is a failed Send. Retryable tells the deliverer whether trying
// again later can succeed (4xx replies, refused or timed-out connections)
// or not (5xx replies, rejected credentials, bad addresses, TLS
// verification failures).
type SendError struct {
	// Op is the step that failed: "connect", "send", "build message".
	Op string
	// Code is the SMTP reply code, 0 when the server did not answer.
	Code      int
	retryable bool
	err       error
}

func (e *SendError) Error() string {
	kind := "permanent"
	if e.retryable {
		kind = "temporary"
	}
	return fmt.Sprintf("email %s (%s): %v", e.Op, kind, e.err)
}

func (e *SendError) Unwrap() error { return e.err }

// Retryable reports whether a later retry can succeed.
func (e *SendError) Retryable() bool { return e.retryable }

func classifyDial(cfg Config, err error) *SendError {
	se := &SendError{Op: "connect to " + net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), err: err}
	var tpe *textproto.Error
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recErr tls.RecordHeaderError
	switch {
	case errors.As(err, &tpe):
		se.Code = tpe.Code
		// 454 is a temporary authentication failure (RFC 4954); 535 and
		// other 5xx are final, so are credentials the server rejects.
		se.retryable = tpe.Code >= 400 && tpe.Code < 500
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &recErr):
		se.err = fmt.Errorf("tls: %w: %w", err, fault.ErrInvalid)
	case errors.Is(err, gomail.ErrNoSupportedAuthDiscovered), errors.Is(err, gomail.ErrPlainAuthNotSupported),
		strings.Contains(err.Error(), "does not support STARTTLS"),
		strings.Contains(err.Error(), "does not support SMTP AUTH"):
		se.err = fmt.Errorf("%w: %w", err, fault.ErrInvalid)
	default:
		// Refused, reset, unreachable, timed out, cancelled: the server or
		// the network may be back later.
		se.retryable = isNetworkOrContext(err)
	}
	return se
}

func isNetworkOrContext(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ne) || errors.As(err, &oe) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "EOF")
}

func classifySend(err error) *SendError {
	se := &SendError{Op: "send", err: err}
	var sendErr *gomail.SendError
	if errors.As(err, &sendErr) {
		se.Code = sendErr.ErrorCode()
		switch {
		case se.Code >= 500:
			se.retryable = false
		case se.Code >= 400 || sendErr.IsTemp():
			se.retryable = true
		case sendErr.Reason == gomail.ErrGetSender || sendErr.Reason == gomail.ErrGetRcpts || sendErr.Reason == gomail.ErrNoUnencoded:
			se.retryable = false
		default:
			// No reply code: the connection broke while sending.
			se.retryable = true
		}
		return se
	}
	var tpe *textproto.Error
	if errors.As(err, &tpe) {
		se.Code = tpe.Code
		se.retryable = tpe.Code < 500
		return se
	}
	se.retryable = isNetworkOrContext(err)
	return se
}
