package main

import (
	"flag"
	"github.com/spikemesh/spikemesh/pns/natsio"
	"log/slog"
	"os"

	"github.com/nats-io/nats.go"

	"github.com/spikemesh/spikemesh/internal/natsauth"
)

// Environment variables that stand in for the NATS connection flags of
// every command, so that no secret needs to be on a command line.
const (
	envNATSURL     = "SPIKEMESH_NATS_URL" // sensor and motor commands only
	envNATSCreds   = "SPIKEMESH_NATS_CREDS"
	envNATSUsers   = "SPIKEMESH_NATS_USERS"
	envNATSTLSCert = "SPIKEMESH_NATS_TLS_CERT"
	envNATSTLSKey  = "SPIKEMESH_NATS_TLS_KEY"
	envNATSTLSCA   = "SPIKEMESH_NATS_TLS_CA"
)

// natsAuthFlags are the credential and TLS flags of every command that
// connects to NATS; each defaults to its environment variable.
type natsAuthFlags struct {
	creds, tlsCert, tlsKey, tlsCA string
}

// registerNATSAuth adds --nats-creds and the --nats-tls-* flags to fs,
// storing into the given strings.
func registerNATSAuth(fs *flag.FlagSet, creds, cert, key, ca *string, server bool) {
	certUse, caUse := "client certificate `PEM` presented to the NATS server", "CA `PEM` that signs the NATS server's certificate (default: the system's)"
	credsUse := "NATS credentials `FILE`: YAML {user, password} or {user, seed}, or a bare nkey seed, or a NATS JWT .creds file"
	if server {
		certUse = "TLS certificate `PEM` of the embedded NATS server's client listener and routes; with --nats, the client certificate"
		caUse = "CA `PEM` that signs the route peers' certificates (required of them when given); with --nats, the CA of the server's certificate"
		credsUse += "; the node role's user of the embedded server and, in a cluster, the routes' shared secret"
	}
	fs.StringVar(creds, "nats-creds", os.Getenv(envNATSCreds), credsUse+" (env "+envNATSCreds+")")
	fs.StringVar(cert, "nats-tls-cert", os.Getenv(envNATSTLSCert), certUse+" (env "+envNATSTLSCert+")")
	fs.StringVar(key, "nats-tls-key", os.Getenv(envNATSTLSKey), "private key `PEM` of --nats-tls-cert (env "+envNATSTLSKey+")")
	fs.StringVar(ca, "nats-tls-ca", os.Getenv(envNATSTLSCA), caUse+" (env "+envNATSTLSCA+")")
}

func (f *natsAuthFlags) register(fs *flag.FlagSet) {
	registerNATSAuth(fs, &f.creds, &f.tlsCert, &f.tlsKey, &f.tlsCA, false)
}

// options reads the files and returns the nats.go options that present
// them; errors name the flag and the file, never a secret.
func (f *natsAuthFlags) options() ([]nats.Option, error) {
	opts, err := natsauth.TLS{Cert: f.tlsCert, Key: f.tlsKey, CA: f.tlsCA}.ClientOptions()
	if err != nil {
		return nil, err
	}
	if f.creds != "" {
		c, err := natsauth.LoadCreds(f.creds, "--nats-creds")
		if err != nil {
			return nil, err
		}
		opts = append(opts, c.Options()...)
	}
	// Asynchronous errors go to the log, once per kind every 10 s, not
	// raw to stderr.
	opts = append(opts, natsio.LogErrors(slog.Default()))
	return opts, nil
}

// natsURLDefault is the default of a client command's --nats: the
// environment's, else the embedded server's usual loopback listener.
func natsURLDefault() string {
	if u := os.Getenv(envNATSURL); u != "" {
		return u
	}
	return defaultNATS
}
