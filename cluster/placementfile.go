package cluster

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ParsePlacementFile reads a forced placement: a map from area ID to node
// name, written as YAML ("area_id: node-a", one per line) or as a JSON
// object. It is meant for tests that need a given placement rather than the
// computed one. resolve turns an area ID into its index in [0, nAreas).
// Every area must be mapped exactly once; errors name the line and the area.
func ParsePlacementFile(data []byte, resolve func(area string) (int, error), nAreas int) ([]string, error) {
	if resolve == nil {
		return nil, errors.New("placement file: no way to resolve area IDs")
	}
	if nAreas < 0 {
		return nil, fmt.Errorf("placement file: %d areas", nAreas)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("placement file: %w", err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, errors.New("placement file: empty; want a map from area ID to node name")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("placement file: line %d: want a map from area ID to node name, found %s", root.Line, kindName(root))
	}
	out := make([]string, nAreas)
	firstLine := make([]int, nAreas)
	for k := 0; k+1 < len(root.Content); k += 2 {
		key, val := root.Content[k], root.Content[k+1]
		if key.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("placement file: line %d: area ID must be a plain value, found %s", key.Line, kindName(key))
		}
		id := key.Value
		if val.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("placement file: line %d: area %q: node name must be a plain value, found %s", val.Line, id, kindName(val))
		}
		name := strings.TrimSpace(val.Value)
		if val.Tag == "!!null" || name == "" {
			return nil, fmt.Errorf("placement file: line %d: area %q has no node name", val.Line, id)
		}
		idx, err := resolve(id)
		if err != nil {
			return nil, fmt.Errorf("placement file: line %d: area %q: %w", key.Line, id, err)
		}
		if idx < 0 || idx >= nAreas {
			return nil, fmt.Errorf("placement file: line %d: area %q resolves to index %d, outside [0, %d)", key.Line, id, idx, nAreas)
		}
		if firstLine[idx] != 0 {
			return nil, fmt.Errorf("placement file: line %d: area %q is mapped again (first at line %d)", key.Line, id, firstLine[idx])
		}
		firstLine[idx] = key.Line
		out[idx] = name
	}
	var missing []string
	for a, line := range firstLine {
		if line == 0 {
			missing = append(missing, fmt.Sprint(a))
		}
	}
	if len(missing) > 0 {
		const show = 20
		list := strings.Join(missing[:min(len(missing), show)], ", ")
		if len(missing) > show {
			list += ", …"
		}
		return nil, fmt.Errorf("placement file: every area must be mapped; %d of %d are not (area indices %s)", len(missing), nAreas, list)
	}
	return out, nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.DocumentNode:
		return "a document"
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a map"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "nothing"
}
