package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/spikemesh/spikemesh/brain"
	"github.com/spikemesh/spikemesh/internal/capread"
)

// maxTokenFile bounds an operator token file.
const maxTokenFile = 4 << 10

// registerHTTPFlags adds node run's HTTP flags to fs.
func registerHTTPFlags(fs *flag.FlagSet, c *brain.Config) {
	fs.StringVar(&c.HTTP, "http", "", "serve health, readiness, metrics, profiles, the JSON API and the live view on `HOST:PORT` (see docs/http.md)")
	fs.Func("http-token-file", "read the operator token that HTTP changes require (Authorization: Bearer) from `FILE`; without it, changes are allowed only when --http is a loopback address",
		func(path string) error {
			tok, err := readToken(path)
			if err != nil {
				return err
			}
			c.OperatorToken = tok
			return nil
		})
}

// readToken reads a token file: its content without surrounding white
// space, which must not be empty.
func readToken(path string) (string, error) {
	data, err := capread.ReadFile(path, maxTokenFile, "")
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", errors.New("the file is empty")
	}
	if strings.ContainsAny(tok, " \t\r\n") {
		return "", fmt.Errorf("the token holds white space (%d bytes); want one token on one line", len(tok))
	}
	return tok, nil
}
