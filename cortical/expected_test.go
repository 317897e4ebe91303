package cortical

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/spikemesh/spikemesh/genomes"
)

// expected is one testdata/expected/*.txt file: the growth figures a
// faithful loader reproduces (see testdata/expected/README.md).
type expected struct {
	genome, format, version, precision string
	areas                              int
	neurons, synapses                  int64
	rows                               []expectedArea
	rules                              []expectedRule
	notes                              []string
}

type expectedArea struct {
	idx                      int
	id, bytes, legacy, dims  string
	perVoxel, neurons, first int64
	name                     string
}

type expectedRule struct {
	src, srcLegacy, dst, dstLegacy string
	rule                           int
	morph                          string // truncated to 28 characters
	synapses                       int
}

var (
	headerRe = regexp.MustCompile(`^genome\s+(\S+) \((\w+) layout, version (\S+), precision (\w+)\)$`)
	totalsRe = regexp.MustCompile(`^areas (\d+)\s+neurons (\d+)\s+synapses (\d+)$`)
	areaRe   = regexp.MustCompile(`^(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+x\d+x\d+)\s+(\d+)\s+(\d+)\s+(\d+)  (.*)$`)
	ruleRe   = regexp.MustCompile(`^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+) (.{28}) +(\d+)(.*)$`)
)

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func readExpected(t *testing.T, path string) expected {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var e expected
	section := 0 // 0 header, 1 areas, 2 rules
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
		case strings.HasPrefix(line, "note: "):
			e.notes = append(e.notes, strings.TrimPrefix(line, "note: "))
		case strings.HasPrefix(line, "idx "):
			section = 1
		case strings.HasPrefix(line, "src "):
			section = 2
		case section == 0:
			if m := headerRe.FindStringSubmatch(line); m != nil {
				e.genome, e.format, e.version, e.precision = m[1], m[2], m[3], m[4]
			} else if m := totalsRe.FindStringSubmatch(line); m != nil {
				e.areas = int(atoi(t, m[1]))
				e.neurons, e.synapses = atoi(t, m[2]), atoi(t, m[3])
			} else {
				t.Fatalf("%s: unparsed header line %q", path, line)
			}
		case section == 1:
			m := areaRe.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("%s: unparsed area line %q", path, line)
			}
			e.rows = append(e.rows, expectedArea{
				idx: int(atoi(t, m[1])), id: m[2], bytes: m[3], legacy: m[4], dims: m[5],
				perVoxel: atoi(t, m[6]), neurons: atoi(t, m[7]), first: atoi(t, m[8]), name: m[9],
			})
		case section == 2:
			m := ruleRe.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("%s: unparsed rule line %q", path, line)
			}
			e.rules = append(e.rules, expectedRule{
				src: m[1], srcLegacy: m[2], dst: m[3], dstLegacy: m[4], rule: int(atoi(t, m[5])),
				morph: strings.TrimRight(m[6], " "), synapses: int(atoi(t, m[7])),
			})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if e.genome == "" || e.areas == 0 || len(e.rows) != e.areas {
		t.Fatalf("%s: incomplete expected file (%d area rows for %d areas)", path, len(e.rows), e.areas)
	}
	return e
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// TestExpectedFigures grows every genome with an expected file and compares
// every figure: header, totals, each area row, each rule's synapse count
// and the loader's notes.
func TestExpectedFigures(t *testing.T) {
	files, err := filepath.Glob("testdata/expected/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no expected files: %v", err)
	}
	if len(files) != len(genomes.Names()) {
		t.Errorf("%d expected files for %d embedded genomes", len(files), len(genomes.Names()))
	}
	for _, path := range files {
		e := readExpected(t, path)
		t.Run(e.genome, func(t *testing.T) {
			data, err := genomes.Read(e.genome)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Load(data, e.genome, Options{})
			if err != nil {
				t.Fatal(err)
			}
			compareExpected(t, p, e)
		})
	}
}

func compareExpected(t *testing.T, p *Plan, e expected) {
	t.Helper()
	if p.Genome.Format != e.format || p.Genome.Version != e.version || p.Precision.String() != e.precision {
		t.Errorf("header: format %s version %s precision %s, want %s %s %s",
			p.Genome.Format, p.Genome.Version, p.Precision, e.format, e.version, e.precision)
	}
	areas, neurons, synapses := p.Totals()
	if areas != e.areas || neurons != e.neurons || synapses != e.synapses {
		t.Errorf("totals: areas %d neurons %d synapses %d, want %d %d %d",
			areas, neurons, synapses, e.areas, e.neurons, e.synapses)
	}
	for i, row := range e.rows {
		if i >= len(p.Areas) {
			t.Errorf("area %d missing", i)
			continue
		}
		a := &p.Areas[i]
		bytesCol := "(bin)"
		if a.ID.Printable() {
			bytesCol = string(a.ID[:])
		}
		legacy := a.LegacyID
		if legacy == "" {
			legacy = "(added)"
		}
		got := expectedArea{
			idx: a.Index, id: a.ID.String(), bytes: bytesCol, legacy: legacy,
			dims:     fmt.Sprintf("%dx%dx%d", a.Dims[0], a.Dims[1], a.Dims[2]),
			perVoxel: int64(a.PerVoxel), neurons: int64(a.Neurons()), first: int64(a.FirstID), name: a.Name,
		}
		if got != row {
			t.Errorf("area %d:\n got  %+v\n want %+v", i, got, row)
		}
	}
	// The expected files list rules grouped by source; compare them as a
	// set keyed by (source, destination, rule index).
	type key struct {
		src, dst string
		rule     int
	}
	gotRules := map[key]expectedRule{}
	for _, r := range p.Rules {
		s, d := &p.Areas[r.Src], &p.Areas[r.Dst]
		gotRules[key{s.ID.String(), d.ID.String(), r.Rule}] = expectedRule{
			src: s.ID.String(), srcLegacy: s.LegacyID, dst: d.ID.String(), dstLegacy: d.LegacyID,
			rule: r.Rule, morph: truncate(r.Morphology, 28), synapses: r.Synapses,
		}
	}
	if len(gotRules) != len(e.rules) || len(p.Rules) != len(e.rules) {
		t.Errorf("%d rules, want %d", len(p.Rules), len(e.rules))
	}
	for _, want := range e.rules {
		got, ok := gotRules[key{want.src, want.dst, want.rule}]
		if !ok {
			t.Errorf("rule %s -> %s #%d missing", want.srcLegacy, want.dstLegacy, want.rule)
			continue
		}
		if got != want {
			t.Errorf("rule:\n got  %+v\n want %+v", got, want)
		}
	}
	if strings.Join(p.Warnings, "\n") != strings.Join(e.notes, "\n") {
		t.Errorf("warnings:\n got  %q\n want %q", p.Warnings, e.notes)
	}
}
