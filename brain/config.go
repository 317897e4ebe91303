package brain

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/genomes"
	"github.com/spikemesh/spikemesh/pns"
	"github.com/spikemesh/spikemesh/quant"
)

// Runner names accepted by Config.Runner.
const (
	RunnerActors    = "actors"
	RunnerReference = "reference"
)

// Config is everything Run needs: what `node run` takes as flags, plus where
// output goes. Each field names its flag; Validate's errors name the flag
// too, so that a command-line user and a program read the same message.
type Config struct {
	// Genome is a genome file, or the name of an embedded genome
	// (--genome). Required.
	Genome string
	// Bursts stops the run after this many bursts; 0 runs until the
	// context is cancelled (--bursts).
	Bursts uint64
	// Record is the file that receives the fired neurons of every burst,
	// one JSON line per burst; "" writes none (--record). It may not be the
	// genome or the inputs file.
	Record string
	// RecordSync makes every flush of the record an fsync too, so that the
	// record survives a crash of the machine, not only of the process
	// (--record-sync).
	RecordSync bool
	// Inputs is a sensor schedule to replay, JSON lines
	// {"burst":n,"area":id,"points":[[x,y,z,p],...]}; "" none (--inputs).
	Inputs string
	// Precision overrides the genome's precision (fp32 or int8); "" keeps
	// the genome's (--precision).
	Precision string
	// Seed fixes every random choice of growth; nil derives it from the
	// genome (--seed).
	Seed *uint64
	// Rate is the number of bursts per second; 0 takes the genome's rate.
	// Otherwise it must be positive and finite (--rate).
	Rate float64
	// Free runs as fast as possible, without pacing (--free).
	Free bool
	// NATS is the URL of an external NATS server; "" starts an embedded
	// server in this process (--nats).
	NATS string
	// NATSListen lets the embedded server listen on HOST:PORT for sensors
	// and motors of other processes; "" keeps it in process. Port -1 picks
	// a free port. Only without NATS (--nats-listen).
	NATSListen string
	// NATSCreds is the credentials file this node connects with (a
	// user and password, or an nkey seed; see docs/security.md)
	// (--nats-creds, or SPIKEMESH_NATS_CREDS). With the embedded server it
	// is also the node role's user, and in a cluster the shared secret of
	// the routes between the nodes' servers.
	NATSCreds string
	// NATSUsers lists the embedded server's other users: name, role and a
	// bcrypt password hash or nkey public key (--nats-users, or
	// SPIKEMESH_NATS_USERS). Only for the embedded server.
	NATSUsers string
	// NATSTLSCert, NATSTLSKey and NATSTLSCA are PEM files: the embedded
	// server's certificate for its client listener and routes, and the CA
	// its routes' peers must be signed by; with --nats, the client
	// certificate and the CA that signs the server's (--nats-tls-cert,
	// --nats-tls-key, --nats-tls-ca, or SPIKEMESH_NATS_TLS_CERT, _KEY, _CA).
	NATSTLSCert, NATSTLSKey, NATSTLSCA string
	// SpikesViaNATS sends every spike batch through NATS, even between
	// areas of this process (--spikes-via-nats).
	SpikesViaNATS bool
	// SubjectPrefix is the first tokens of every NATS subject; "" gives
	// pns.DefaultPrefix (--subject-prefix).
	SubjectPrefix string
	// Brain is this brain's name in NATS subjects; "" gives
	// pns.DefaultBrain (--brain).
	Brain string
	// Runner is RunnerActors (the default when "") or RunnerReference,
	// npu's single-process runner, which takes its input from Inputs only
	// and uses no NATS (--runner).
	Runner string
	// CheckpointEvery is the interval, in bursts, of a cluster brain's
	// checkpoints (--checkpoint-every; 0: DefaultCheckpointEvery, negative:
	// none).
	CheckpointEvery int64
	// StallTimeout ends the run with an error when one burst takes longer;
	// 0 never does (--stall-timeout).
	StallTimeout time.Duration
	// HTTP is the HOST:PORT of the node's HTTP server (health, readiness,
	// metrics, profiles, the JSON API under /v1 and the live view); ""
	// serves none (--http). See docs/http.md.
	HTTP string
	// OperatorToken, when set, is the bearer token that HTTP changes
	// (POST /v1/rate, /v1/pause, /v1/resume) require; unset, changes are
	// allowed only when HTTP listens on loopback (--http-token-file).
	OperatorToken string
	// HTTPStarted, when set, is called with the HTTP server's address once
	// it listens (before growth), for programs that bind port 0.
	HTTPStarted func(addr string)
	// Quiet prints only errors and the summary: no progress, no status
	// (--quiet).
	Quiet bool

	// Limits bound what growth may build, estimated before anything is
	// allocated (--max-neurons, --max-synapses, --max-memory, --max-pairs;
	// zero fields take cortical's defaults), and GenomeCap the genome file's
	// size (--max-genome-size; 0: 64 MiB).
	Limits    cortical.Limits
	GenomeCap int64
	// MaxInputLine caps one line of the Inputs file (--max-input-line;
	// 0: 16 MiB).
	MaxInputLine int64

	// Threads is the number of worker goroutines inside each engine; 0
	// chooses per area (AreaWorkers) (--threads).
	Threads int

	// Synthetic, "K,N,F", runs the scale-out benchmark's synthetic brain
	// instead of a genome (see Synthetic; --synthetic).
	Synthetic string
	// SummaryJSON, when set, receives the run's summary as one JSON object
	// (--summary-json).
	SummaryJSON string

	// Cluster mode: the brain runs over several node processes, each
	// started with the same command line apart from its own name and
	// addresses. ClusterBind enables it.
	Cluster ClusterConfig

	// Stderr receives progress, the status line, the summary and, unless
	// Logger is given, the log. nil discards them. When it is a *Console,
	// Run draws its status line through it; otherwise Validate wraps it in
	// one.
	Stderr io.Writer
	// Terminal says that Stderr is a terminal: a live status line replaces
	// the periodic progress log lines.
	Terminal bool
	// Logger receives the run's log records; nil logs text records to
	// Stderr at level info (error with Quiet). On a terminal, a Logger
	// should write through the same *Console as Stderr so that its records
	// never collide with the status line.
	Logger *slog.Logger
	// auth is what Validate read from the NATS credential files.
	auth *natsAuth

	// Ready, when set, is called once the brain is grown and connected (the
	// sensor bridge and the motor publisher attached), before burst 1.
	Ready func()
}

// Validate fills in the defaults and checks every field, returning the
// first problem with the flag it concerns. It touches the file system only
// to look at the genome, inputs and record paths. Run calls it; calling it
// before is harmless.
func (c *Config) Validate() error {
	if c.Runner == "" {
		c.Runner = RunnerActors
	}
	if c.SubjectPrefix == "" {
		c.SubjectPrefix = pns.DefaultPrefix
	}
	if c.Brain == "" {
		c.Brain = pns.DefaultBrain
	}
	if c.Stderr == nil {
		c.Stderr = io.Discard
	}
	console, ok := c.Stderr.(*Console)
	if !ok {
		console = NewConsole(c.Stderr, c.Terminal)
		c.Stderr = console
	}
	if c.Logger == nil {
		level := slog.LevelInfo
		if c.Quiet {
			level = slog.LevelError
		}
		c.Logger = slog.New(slog.NewTextHandler(console, &slog.HandlerOptions{Level: level}))
	}

	if c.Synthetic != "" {
		if _, err := ParseSynthetic(c.Synthetic); err != nil {
			return err
		}
		if c.Runner != RunnerActors {
			return errors.New("--synthetic: runs with the actors runner only")
		}
	} else if c.Genome == "" {
		return errors.New("--genome: required (a genome file or an embedded genome's name)")
	} else if _, err := os.Stat(c.Genome); err != nil && !isEmbedded(c.Genome) {
		return fmt.Errorf("--genome %q: no such file and no embedded genome of that name (embedded: %s)",
			c.Genome, strings.Join(genomes.Names(), ", "))
	}
	if c.Inputs != "" {
		fi, err := os.Stat(c.Inputs)
		if err != nil {
			return fmt.Errorf("--inputs: %w", err)
		}
		if fi.IsDir() {
			return fmt.Errorf("--inputs %s: is a directory", c.Inputs)
		}
	}
	if c.Record != "" {
		if err := c.checkRecord(); err != nil {
			return err
		}
	}
	if c.Precision != "" {
		if _, _, err := quant.ParsePrecision(c.Precision); err != nil {
			return fmt.Errorf("--precision: %w", err)
		}
	}
	if err := c.Cluster.validate(c); err != nil {
		return err
	}
	if c.Rate != 0 {
		if err := CheckRate(c.Rate); err != nil {
			return err
		}
	}
	if err := c.validateHTTP(); err != nil {
		return err
	}
	if c.StallTimeout < 0 {
		return fmt.Errorf("--stall-timeout: want 0 (never) or a positive duration, got %v", c.StallTimeout)
	}
	switch c.Runner {
	case RunnerActors:
	case RunnerReference:
		// The NATS credential files may come from the environment: unused
		// here, they are not an error.
		for _, f := range []struct {
			set  bool
			flag string
		}{{c.NATS != "", "--nats"}, {c.NATSListen != "", "--nats-listen"}, {c.SpikesViaNATS, "--spikes-via-nats"}} {
			if f.set {
				return fmt.Errorf("--runner reference uses no NATS: drop %s", f.flag)
			}
		}
	default:
		return fmt.Errorf("--runner %q: want %s or %s", c.Runner, RunnerActors, RunnerReference)
	}
	if c.NATSListen != "" {
		if c.NATS != "" {
			return errors.New("--nats-listen: only for the embedded server; with --nats, the external server listens")
		}
		if _, _, err := splitListen(c.NATSListen); err != nil {
			return err
		}
	}
	if err := (pns.Subjects{Prefix: c.SubjectPrefix}).Validate(); err != nil {
		return fmt.Errorf("--subject-prefix: %w", err)
	}

	if err := (pns.Subjects{Prefix: c.SubjectPrefix, Brain: c.Brain}).Validate(); err != nil {
		return fmt.Errorf("--brain: %w", err)
	}
	if c.Runner == RunnerActors {
		return c.loadNATSAuth()
	}
	return nil
}

// CheckRate checks a burst rate given by a user: it must be a positive,
// finite number of bursts per second.
func CheckRate(hz float64) error {
	if !(hz > 0) || math.IsInf(hz, 0) {
		return fmt.Errorf("--rate: want a positive finite number, got %v", hz)
	}
	return nil
}

// checkRecord refuses a record path that would overwrite the genome or the
// inputs file, or that cannot be created.
func (c *Config) checkRecord() error {
	if fi, err := os.Stat(c.Record); err == nil && fi.IsDir() {
		return fmt.Errorf("--record %s: is a directory", c.Record)
	}
	if dir := filepath.Dir(c.Record); dir != "" {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return fmt.Errorf("--record %s: directory %s does not exist", c.Record, dir)
		}
	}
	if fi, err := os.Stat(c.Genome); err == nil && !fi.IsDir() && samePath(c.Record, c.Genome) {
		return fmt.Errorf("--record %s: is the genome file; the record would overwrite it", c.Record)
	}
	if c.Inputs != "" && samePath(c.Record, c.Inputs) {
		return fmt.Errorf("--record %s: is the --inputs file; the record would overwrite it", c.Record)
	}
	return nil
}

// samePath reports whether a and b name the same file: the same file on
// disk when both exist (links included), else the same cleaned absolute
// path.
func samePath(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(fa, fb)
	}
	aa, errA := filepath.Abs(a)
	ab, errB := filepath.Abs(b)
	return errA == nil && errB == nil && aa == ab
}

// splitListen checks an embedded server's listen address, HOST:PORT with
// PORT in 0..65535 or -1 (a free port).
func splitListen(hp string) (string, int, error) {
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, fmt.Errorf("--nats-listen %q: want HOST:PORT: %w", hp, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < -1 || port > 65535 {
		return "", 0, fmt.Errorf("--nats-listen %q: port %q: want 0 to 65535, or -1 for a free port", hp, p)
	}
	return host, port, nil
}

// RedactURL returns a NATS URL (or a comma-separated list of them) fit for
// logs and errors: credentials written into it, user:password@ or token@,
// become "REDACTED@". Everything up to the last '@' of each URL (after its
// scheme) goes, so a password holding an '@' is hidden too.
func RedactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		at := strings.LastIndex(p, "@")
		if at < 0 {
			continue
		}
		scheme := ""
		if k := strings.Index(p[:at], "://"); k >= 0 {
			scheme = p[:k+3]
		}
		parts[i] = scheme + "REDACTED@" + p[at+1:]
	}
	return strings.Join(parts, ",")
}

// isEmbedded reports whether name is an embedded genome.
func isEmbedded(name string) bool {
	_, err := genomes.Read(name)
	return err == nil
}
