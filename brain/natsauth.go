package brain

import (
	"errors"
	"log/slog"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/spikemesh/spikemesh/actors"
	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/internal/natsauth"
	"github.com/spikemesh/spikemesh/pns"
)

// natsAuth is what the NATS credential flags gave, read and checked.
type natsAuth struct {
	creds *natsauth.Creds // nil: none given
	users []natsauth.User
	tls   natsauth.TLS
}

// secured reports whether the embedded server listens beyond this process
// (a client listener or routes), and so accepts only clients with
// credentials.
func (c *Config) secured() bool {
	return c.NATS == "" && (c.NATSListen != "" || c.Cluster.NATSCluster != "")
}

// loadNATSAuth reads and checks the credential files, and refuses an
// embedded server that would listen beyond this process without any.
func (c *Config) loadNATSAuth() error {
	a := &natsAuth{tls: natsauth.TLS{Cert: c.NATSTLSCert, Key: c.NATSTLSKey, CA: c.NATSTLSCA}}
	if c.NATSCreds != "" {
		cr, err := natsauth.LoadCreds(c.NATSCreds, "--nats-creds")
		if err != nil {
			return err
		}
		a.creds = cr
	}
	if c.NATSUsers != "" {
		if c.NATS != "" {
			return errors.New("--nats-users: only for the embedded server; an external server keeps its own users")
		}
		us, err := natsauth.LoadUsers(c.NATSUsers, "--nats-users")
		if err != nil {
			return err
		}
		a.users = us
	}
	if c.NATS != "" {
		if _, err := a.tls.ClientConfig(); err != nil {
			return err
		}
	} else {
		if _, _, err := a.tls.ServerConfigs(); err != nil {
			return err
		}
		if a.creds != nil && a.creds.JWTFile != "" {
			return errors.New("--nats-creds: a JWT credentials file works with an external server (--nats) only; the embedded server takes a user and password or an nkey seed")
		}
	}
	switch {
	case !c.secured():
	case c.Cluster.NATSCluster != "" && a.creds == nil:
		return errors.New("--nats-cluster: the nodes' NATS servers accept only each other and clients with credentials: give every node the same --nats-creds FILE (a user and password, or an nkey seed)")
	case a.creds == nil && len(a.users) == 0:
		return errors.New("--nats-listen: the embedded NATS server accepts only clients with credentials: give --nats-users FILE (the users, by role) and/or --nats-creds FILE (the node role's user); `node nats-creds` writes both")
	}
	c.auth = a
	return nil
}

// embeddedServer is the embedded server's configuration for this node:
// without a listener, no users (only this process can connect); with one,
// the node's user (the given credentials, or fresh random ones) and the
// users file's, each with its role's permissions, routes authenticated
// with the node credentials, TLS as given, and the max payload the plan
// needs. It returns the credentials the node's own connections present.
func (c *Config) embeddedServer(plan *cortical.Plan, subjects pns.Subjects, log *slog.Logger) (actors.NATSServer, *natsauth.Creds, error) {
	o := actors.NATSServer{Listen: c.NATSListen, Logger: log}
	payload, capped := actors.MaxPayloadFor(plan)
	if capped {
		log.Warn("the largest message this brain could send exceeds the embedded NATS server's cap; a burst in which nearly every neuron of the largest area fires would be refused",
			"need_bytes", actors.MaxMessageBytes(plan), "cap_bytes", actors.MaxPayloadCap)
	}
	o.MaxPayload = payload
	a := c.auth
	if a == nil || !c.secured() {
		return o, nil, nil
	}
	creds := a.creds
	if creds == nil {
		creds = natsauth.RandomCreds("spikemesh-node-" + natsauth.RandomSecret()[:12])
	}
	var err error
	if o.Users, o.Nkeys, err = natsauth.ServerUsers(a.users, creds, subjects); err != nil {
		return o, nil, err
	}
	o.RouteUser, o.RoutePassword = creds.RouteAuth()
	o.Secrets = creds.Secrets()
	if o.TLS, o.RouteTLS, err = a.tls.ServerConfigs(); err != nil {
		return o, nil, err
	}
	if o.TLS == nil && o.Listen != "" && !natsauth.Loopback(o.Listen) {
		log.Warn("the embedded NATS server listens beyond loopback without TLS: credentials and brain traffic cross the network in clear; give --nats-tls-cert and --nats-tls-key",
			"listen", o.Listen)
	}
	if k := c.Cluster.NATSCluster; k != "" && o.RouteTLS == nil && !natsauth.Loopback(k) {
		log.Warn("the embedded NATS server's routes listen beyond loopback without TLS: give --nats-tls-cert, --nats-tls-key and --nats-tls-ca",
			"nats_cluster", k)
	}
	return o, creds, nil
}

// clientOptions are the options of this node's connections to an external
// server: its credentials and TLS.
func (c *Config) clientOptions() ([]nats.Option, error) {
	a := c.auth
	if a == nil {
		return nil, nil
	}
	opts, err := a.tls.ClientOptions()
	if err != nil {
		return nil, err
	}
	return append(opts, a.creds.Options()...), nil
}

// redactSecrets hides the node's secrets in an error's text (the error
// keeps its chain when nothing is hidden).
func (c *Config) redactSecrets(err error) error {
	if err == nil || c.auth == nil || c.auth.creds == nil {
		return err
	}
	msg := err.Error()
	red := msg
	for _, s := range c.auth.creds.Secrets() {
		red = strings.ReplaceAll(red, s, "REDACTED")
	}
	if red == msg {
		return err
	}
	return errors.New(red)
}
