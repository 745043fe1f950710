package smtpd

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLSMode is how the server offers TLS.
type TLSMode string

const (
	// TLSStartTLS: plain connection upgraded with STARTTLS; AUTH only after it.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit: TLS from the first byte (SMTPS, port 465 style).
	TLSImplicit TLSMode = "implicit"
	// TLSNone: plaintext only, no STARTTLS offered.
	TLSNone TLSMode = "none"
)

// Stage names the SMTP command a failure is injected at.
type Stage string

const (
	StageMail Stage = "MAIL"
	StageRcpt Stage = "RCPT"
	StageData Stage = "DATA"
)

// Options configures a test server.
type Options struct {
	// TLS defaults to TLSStartTLS.
	TLS TLSMode
	// Username and Password, when Username is set, require AUTH PLAIN before
	// MAIL; a wrong pair is answered 535 5.7.8.
	Username string
	Password string
}

// Message is one received message: the envelope, the session facts and the
// parsed content.
type Message struct {
	// Envelope.
	From string
	To   []string
	// Session.
	TLS      bool
	AuthUser string
	// Raw is the DATA payload as received.
	Raw []byte
	// Header holds every header with RFC 2047 encoded words decoded.
	Header mail.Header
	// Subject is the decoded subject.
	Subject string
	// Text and HTML are the decoded text/plain and text/html parts.
	Text string
	HTML string
}

// Server is a running in-process SMTP server on 127.0.0.1.
type Server struct {
	t    testing.TB
	opts Options
	cert tls.Certificate
	pool *x509.CertPool
	addr string

	mu       sync.Mutex
	srv      *smtp.Server
	ln       net.Listener
	done     chan struct{}
	messages []Message
	failures map[Stage][]*smtp.SMTPError
	parseErr []error
}

// Start starts a server on 127.0.0.1:0 with a fresh self-signed certificate
// for localhost and 127.0.0.1; it is stopped when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.TLS == "" {
		opts.TLS = TLSStartTLS
	}
	cert, pool, err := selfSigned()
	if err != nil {
		t.Fatalf("smtpd: certificate: %v", err)
	}
	s := &Server{t: t, opts: opts, cert: cert, pool: pool, failures: map[Stage][]*smtp.SMTPError{}}
	if err := s.listen("127.0.0.1:0"); err != nil {
		t.Fatalf("smtpd: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.addr }

// Host is always "127.0.0.1".
func (s *Server) Host() string { h, _, _ := net.SplitHostPort(s.addr); return h }

// Port is the listening port, kept across Stop and Restart.
func (s *Server) Port() int { _, p, _ := net.SplitHostPort(s.addr); n, _ := strconv.Atoi(p); return n }

// RootCAs returns a pool holding the server's self-signed certificate.
func (s *Server) RootCAs() *x509.CertPool { return s.pool }

// CertPEM returns the server's certificate in PEM, for configs taking PEM.
func (s *Server) CertPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.cert.Certificate[0]}))
}

// FailNext makes the next n commands of stage answer code (4xx or 5xx).
func (s *Server) FailNext(stage Stage, code, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	class := code / 100
	for range n {
		s.failures[stage] = append(s.failures[stage], &smtp.SMTPError{
			Code:         code,
			EnhancedCode: smtp.EnhancedCode{class, 0, 0},
			Message:      fmt.Sprintf("injected failure at %s", stage),
		})
	}
}

// Messages returns the messages received so far; a message whose content
// could not be parsed fails the test.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, err := range s.parseErr {
		s.t.Errorf("smtpd: %v", err)
	}
	s.parseErr = nil
	return append([]Message(nil), s.messages...)
}

// Stop closes the listener and every connection: a client now gets
// "connection refused". Restart listens again on the same port.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, ln, done := s.srv, s.ln, s.done
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	// Close the listener ourselves too: Serve may not have registered it
	// with the server yet.
	_ = ln.Close()
	_ = srv.Close()
	<-done
}

// Restart listens again on the port of the stopped server.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.listen(s.addr); err != nil {
		s.t.Fatalf("smtpd: restart: %v", err)
	}
}

func (s *Server) listen(addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("already running")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.addr = ln.Addr().String()
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{s: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 10 << 20
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{s.cert}, MinVersion: tls.VersionTLS12}
	switch s.opts.TLS {
	case TLSStartTLS:
		srv.TLSConfig = tlsCfg
	case TLSImplicit:
		ln = tls.NewListener(ln, tlsCfg)
	case TLSNone:
		srv.AllowInsecureAuth = true
	default:
		_ = ln.Close()
		return fmt.Errorf("unknown TLS mode %q", s.opts.TLS)
	}
	done := make(chan struct{})
	s.srv, s.ln, s.done = srv, ln, done
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return nil
}

func (s *Server) takeFailure(stage Stage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.failures[stage]
	if len(q) == 0 {
		return nil
	}
	s.failures[stage] = q[1:]
	return q[0]
}

type session struct {
	s        *Server
	conn     *smtp.Conn
	authUser string
	from     string
	to       []string
}

var _ smtp.AuthSession = (*session)(nil)

func (se *session) AuthMechanisms() []string {
	if se.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (se *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != se.s.opts.Username || password != se.s.opts.Password {
			return smtp.ErrAuthFailed
		}
		se.authUser = username
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.s.opts.Username != "" && se.authUser == "" {
		return smtp.ErrAuthRequired
	}
	if err := se.s.takeFailure(StageMail); err != nil {
		return err
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := se.s.takeFailure(StageRcpt); err != nil {
		return err
	}
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := se.s.takeFailure(StageData); err != nil {
		return err
	}
	_, isTLS := se.conn.TLSConnectionState()
	m := Message{From: se.from, To: append([]string(nil), se.to...), TLS: isTLS, AuthUser: se.authUser, Raw: raw}
	perr := parse(&m)
	se.s.mu.Lock()
	se.s.messages = append(se.s.messages, m)
	if perr != nil {
		se.s.parseErr = append(se.s.parseErr, fmt.Errorf("parse message from %s: %w", se.from, perr))
	}
	se.s.mu.Unlock()
	return nil
}

func (se *session) Reset() { se.from, se.to = "", nil }

func (se *session) Logout() error { return nil }

var wordDecoder = mime.WordDecoder{}

// parse fills the decoded header, subject and body parts of m from m.Raw.
func parse(m *Message) error {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		return fmt.Errorf("read message: %w", err)
	}
	m.Header = mail.Header{}
	for k, vs := range msg.Header {
		for _, v := range vs {
			d, err := wordDecoder.DecodeHeader(v)
			if err != nil {
				return fmt.Errorf("decode header %s: %w", k, err)
			}
			m.Header[k] = append(m.Header[k], d)
		}
	}
	m.Subject = m.Header.Get("Subject")
	return walkPart(m, partHeader(msg.Header), msg.Body)
}

type partHeader map[string][]string

func (h partHeader) get(k string) string {
	if v := h[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func walkPart(m *Message, h partHeader, body io.Reader) error {
	ct := h.get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("content type %q: %w", ct, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("multipart: %w", err)
			}
			if err := walkPart(m, partHeader(p.Header), p); err != nil {
				return err
			}
		}
	}
	var r io.Reader = body
	switch strings.ToLower(h.get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, newlineStripper{body})
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("decode %s part: %w", mt, err)
	}
	switch mt {
	case "text/plain":
		m.Text = string(b)
	case "text/html":
		m.HTML = string(b)
	}
	return nil
}

// newlineStripper drops CR and LF so base64 lines decode as one stream.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
