package natsauth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"

	"github.com/nats-io/nats.go"

	"github.com/spikemesh/spikemesh/internal/capread"
)

// TLS names the PEM files of TLS: a certificate and its key (a server's
// listeners, or a client's certificate), and the CA that signs the peers'
// certificates. All empty: no TLS.
type TLS struct {
	Cert, Key, CA string
}

// Enabled reports whether any TLS file is given.
func (t TLS) Enabled() bool { return t.Cert != "" || t.Key != "" || t.CA != "" }

func (t TLS) check() error {
	if (t.Cert == "") != (t.Key == "") {
		return errors.New("--nats-tls-cert and --nats-tls-key go together")
	}
	return nil
}

func (t TLS) pool() (*x509.CertPool, error) {
	if t.CA == "" {
		return nil, nil
	}
	pem, err := capread.ReadFile(t.CA, maxFile, "")
	if err != nil {
		return nil, fmt.Errorf("--nats-tls-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--nats-tls-ca %s: no PEM certificate in it", t.CA)
	}
	return pool, nil
}

func (t TLS) pair() ([]tls.Certificate, error) {
	if t.Cert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
	if err != nil {
		// The error names the files, not their content.
		return nil, fmt.Errorf("--nats-tls-cert %s / --nats-tls-key %s: %w", t.Cert, t.Key, err)
	}
	return []tls.Certificate{cert}, nil
}

// ClientConfig is the TLS of a connection to a NATS server: the CA (the
// system's when none) verifies the server, the certificate, when given,
// identifies the client. nil when no file is given.
func (t TLS) ClientConfig() (*tls.Config, error) {
	if !t.Enabled() {
		return nil, nil
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	pool, err := t.pool()
	if err != nil {
		return nil, err
	}
	certs, err := t.pair()
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, Certificates: certs}, nil
}

// ClientOptions are the nats.go options of ClientConfig (none without TLS).
func (t TLS) ClientOptions() ([]nats.Option, error) {
	cfg, err := t.ClientConfig()
	if err != nil || cfg == nil {
		return nil, err
	}
	return []nats.Option{nats.Secure(cfg)}, nil
}

// ServerConfigs are the TLS of an embedded server: the client listener
// presents the certificate (clients authenticate with credentials, not
// certificates); the routes present it too and, with a CA, require and
// verify the peer's, which the CA must sign. nil, nil without a
// certificate; a CA alone is an error.
func (t TLS) ServerConfigs() (client, route *tls.Config, err error) {
	if !t.Enabled() {
		return nil, nil, nil
	}
	if err := t.check(); err != nil {
		return nil, nil, err
	}
	if t.Cert == "" {
		return nil, nil, errors.New("--nats-tls-ca: the embedded server needs --nats-tls-cert and --nats-tls-key too")
	}
	certs, err := t.pair()
	if err != nil {
		return nil, nil, err
	}
	pool, err := t.pool()
	if err != nil {
		return nil, nil, err
	}
	client = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: certs}
	route = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: certs, RootCAs: pool, ClientCAs: pool}
	if pool != nil {
		route.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return client, route, nil
}

// Loopback reports whether a listen address's host reaches this machine
// only: a loopback IP or "localhost". "", 0.0.0.0 and :: listen on every
// interface.
func Loopback(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		host = hostPort
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
