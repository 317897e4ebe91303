// Package genomes embeds the FEAGI genomes spikemesh ships (see NOTICE), so
// the node binary can run one with nothing else on the machine and tests
// need nothing outside the repository.
package genomes

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.json
var files embed.FS

// Default is the genome node run uses when no --genome is given.
const Default = "essential_genome.json"

// Names lists the embedded genome file names, sorted.
func Names() []string {
	ents, _ := fs.ReadDir(files, ".")
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".json") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// Read returns the bytes of an embedded genome by file name, with or without
// the ".json" suffix.
func Read(name string) ([]byte, error) {
	if !strings.HasSuffix(name, ".json") {
		name += ".json"
	}
	return files.ReadFile(name)
}
