package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/spikemesh/spikemesh/brain"
	"github.com/spikemesh/spikemesh/internal/natsauth"
	"github.com/spikemesh/spikemesh/internal/web"
	"github.com/spikemesh/spikemesh/pns"
	"github.com/spikemesh/spikemesh/pns/natsio"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

func init() {
	register("ctl", command{summary: "query or steer a running brain over HTTP or NATS (status, stats, pause, resume, rate, free)", run: runCtl})
}

const ctlUsage = `Usage: node ctl (--http URL | --nats URL) [flags] COMMAND

Queries or steers a running brain and prints the answer as JSON on stdout.

Commands:
  status     the brain: genome, precision, state, burst, rate, nodes (HTTP);
             over NATS, the same as stats
  stats      run statistics: burst, bursts/s, spikes, drops, sensor frames
  pause      hold the brain after the burst in progress
  resume     continue a paused brain
  rate HZ    pace the brain at HZ bursts per second
  free       run as fast as possible

--http talks to a node's HTTP API (node run --http ADDR; any node of a
cluster forwards changes to the coordinator). Changes need the operator
token when the node has one (--token-file). --nats sends brain.v1.Control
requests, answered by the coordinator: with --nats-creds (an operator's
credentials) on <prefix>.<brain>.ctl.<user>, the only control subject the
operator may use, so that the brain logs every change with its name (stats
and status on <prefix>.<brain>.stats, which observers may use too);
without, on <prefix>.<brain>.ctl. Flags may come before or after the
command.

Flags:
`

type ctlOptions struct {
	http, nats, tokenFile string
	subjects              pns.Subjects
	timeout               time.Duration
	auth                  natsAuthFlags
}

func ctlFlags(w io.Writer, o *ctlOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("ctl", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.StringVar(&o.http, "http", "", "base `URL` of a node's HTTP API, e.g. http://127.0.0.1:8080")
	fs.StringVar(&o.nats, "nats", "", "NATS server `URL`, e.g. "+defaultNATS)
	fs.StringVar(&o.tokenFile, "token-file", "", "read the operator token from `FILE` (--http only)")
	fs.StringVar(&o.subjects.Brain, "brain", pns.DefaultBrain, "name of the brain in NATS subjects (--nats only)")
	fs.StringVar(&o.subjects.Prefix, "subject-prefix", pns.DefaultPrefix, "first tokens of every NATS subject (--nats only)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "give up when the brain does not answer within this long")
	o.auth.register(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), ctlUsage)
		fs.PrintDefaults()
	}
	return fs
}

func runCtl(args []string, stdout, stderr io.Writer) int {
	var o ctlOptions
	fs := ctlFlags(stderr, &o)
	pos, code, ok := parseArgs(fs, args, stdout, stderr)
	if !ok {
		return code
	}
	cmd, err := ctlCommand(pos)
	if err == nil {
		err = o.check()
	}
	if err != nil {
		fmt.Fprintf(stderr, "node ctl: %v\n\nRun 'node ctl -h' for the commands and flags.\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	var out []byte
	if o.http != "" {
		out, err = ctlHTTP(ctx, &o, cmd)
	} else {
		out, err = ctlNATS(ctx, &o, cmd)
	}
	if err != nil {
		fmt.Fprintf(stderr, "node ctl: %v\n", err)
		return 1
	}
	_, _ = stdout.Write(out)
	return 0
}

// ctlCmd is one command of node ctl.
type ctlCmd struct {
	name string
	rate web.RateRequest
}

func ctlCommand(pos []string) (ctlCmd, error) {
	if len(pos) == 0 {
		return ctlCmd{}, errors.New("no command: want status, stats, pause, resume, rate HZ or free")
	}
	c := ctlCmd{name: pos[0]}
	want := 1
	switch c.name {
	case "status", "stats", "pause", "resume":
	case "free":
		t := true
		c.rate.Free = &t
	case "rate":
		want = 2
		if len(pos) < 2 {
			return c, errors.New("rate: want the rate in bursts per second, e.g. node ctl rate 50")
		}
		hz, err := strconv.ParseFloat(pos[1], 64)
		if err != nil {
			return c, fmt.Errorf("rate %q: want a number of bursts per second", pos[1])
		}
		if err := web.CheckRate(hz); err != nil {
			return c, fmt.Errorf("rate: %w", err)
		}
		c.rate.Hz = &hz
	default:
		return c, fmt.Errorf("unknown command %q: want status, stats, pause, resume, rate HZ or free", c.name)
	}
	if len(pos) > want {
		return c, fmt.Errorf("%s: unexpected argument %q", c.name, pos[want])
	}
	return c, nil
}

func (o *ctlOptions) check() error {
	switch {
	case o.http == "" && o.nats == "":
		return errors.New("say where the brain is: --http URL (a node's HTTP API) or --nats URL")
	case o.http != "" && o.nats != "":
		return errors.New("--http and --nats: give one")
	case o.tokenFile != "" && o.http == "":
		return errors.New("--token-file: only with --http (NATS has its own credentials)")
	case o.timeout <= 0:
		return fmt.Errorf("--timeout: want a positive duration, got %v", o.timeout)
	}
	if o.http != "" {
		if !strings.Contains(o.http, "://") {
			o.http = "http://" + o.http
		}
		u, err := url.Parse(o.http)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--http %q: want a URL such as http://127.0.0.1:8080", o.http)
		}
	}
	if o.nats != "" {
		if err := o.subjects.Validate(); err != nil {
			return fmt.Errorf("--brain or --subject-prefix: %w", err)
		}
	}
	return nil
}

// ctlHTTP runs cmd against the JSON API and returns the answer's body.
func ctlHTTP(ctx context.Context, o *ctlOptions, cmd ctlCmd) ([]byte, error) {
	method, path := http.MethodPost, "/v1/"+cmd.name
	var body io.Reader
	switch cmd.name {
	case "status":
		method, path = http.MethodGet, "/v1/brain"
	case "stats":
		method = http.MethodGet
	case "rate", "free":
		path = "/v1/rate"
		data, _ := json.Marshal(cmd.rate)
		body = bytes.NewReader(data)
	}
	u := strings.TrimSuffix(o.http, "/") + path
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("--http %q: %w", o.http, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if o.tokenFile != "" {
		tok, err := readToken(o.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w (is a node running with --http there?)", method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", method, u, err)
	}
	if resp.StatusCode/100 != 2 {
		var e web.Error
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, e.Error)
		}
		return nil, fmt.Errorf("%s %s: %s", method, u, resp.Status)
	}
	return data, nil
}

// ctlNATS runs cmd as brain.v1.Control requests and returns the stats as
// JSON.
func ctlNATS(ctx context.Context, o *ctlOptions, cmd ctlCmd) ([]byte, error) {
	var c *brainv1.Control
	switch cmd.name {
	case "status", "stats":
		c = &brainv1.Control{Command: &brainv1.Control_Stats{Stats: &brainv1.StatsRequest{}}}
	case "pause":
		c = &brainv1.Control{Command: &brainv1.Control_Pause{Pause: &brainv1.Pause{}}}
	case "resume":
		c = &brainv1.Control{Command: &brainv1.Control_Resume{Resume: &brainv1.Resume{}}}
	default:
		var err error
		if c, err = cmd.rate.Control(); err != nil {
			return nil, err
		}
	}
	redacted := brain.RedactURL(o.nats)
	auth, err := o.auth.options()
	if err != nil {
		return nil, err
	}
	// The server refuses a request the credentials may not make with an
	// asynchronous error: it ends the request at once.
	// (The handler the auth options set, which logs, still runs.)
	var base nats.Options
	for _, opt := range auth {
		_ = opt(&base)
	}
	refused := make(chan struct{}, 1)
	onError := nats.ErrorHandler(func(c *nats.Conn, sub *nats.Subscription, err error) {
		if base.AsyncErrorCB != nil {
			base.AsyncErrorCB(c, sub, err)
		}
		if err != nil && strings.Contains(err.Error(), "Permissions Violation") {
			select {
			case refused <- struct{}{}:
			default:
			}
		}
	})
	nc, err := natsio.Connect(o.nats, append(append([]nats.Option{nats.Name("spikemesh-ctl"), nats.Timeout(max(o.timeout, connectTimeout))}, auth...), onError)...)
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS at %s: %v", redacted, (&natsFlags{url: o.nats}).redact(err))
	}
	defer nc.Close()
	subject := natsauth.ControlSubject(o.subjects, "")
	if o.auth.creds != "" {
		creds, err := natsauth.LoadCreds(o.auth.creds, "--nats-creds")
		if err != nil {
			return nil, err
		}
		subject = natsauth.ControlSubject(o.subjects, creds.Name)
		if _, ok := c.Command.(*brainv1.Control_Stats); ok {
			subject = natsauth.StatsSubject(o.subjects)
		}
	}
	do := func(ctx context.Context, c *brainv1.Control) (*brainv1.Stats, error) {
		data, err := proto.Marshal(c)
		if err != nil {
			return nil, err
		}
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-refused:
				cancel()
			case <-rctx.Done():
			}
		}()
		m, err := nc.RequestWithContext(rctx, subject, data)
		if errors.Is(err, nats.ErrNoResponders) {
			return nil, fmt.Errorf("no brain answers on %s at %s (is a node running there with --brain %s and --subject-prefix %s?)",
				subject, redacted, o.subjects.Brain, o.subjects.Prefix)
		}
		if err != nil {
			if perr := nc.LastError(); perr != nil && strings.Contains(perr.Error(), "Permissions Violation") {
				return nil, fmt.Errorf("request on %s at %s: the server refused it (%v): the credentials' role may not do this", subject, redacted, perr)
			}
			return nil, fmt.Errorf("request on %s at %s: %w", subject, redacted, err)
		}
		var s brainv1.Stats
		if err := proto.Unmarshal(m.Data, &s); err != nil {
			return nil, fmt.Errorf("answer on %s: %w", subject, err)
		}
		return &s, nil
	}
	st, err := web.Apply(ctx, do, c)
	if err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(web.StatsFromProto(st), "", "  ")
	return append(data, '\n'), err
}
