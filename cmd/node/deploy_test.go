package main

import (
	"bytes"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"

	"github.com/spikemesh/spikemesh/cortical"
)

// The Kubernetes manifests are checked here without a cluster: every file a
// kustomization names exists, the node container runs `node run` with flags
// that exist, the genome it mounts grows, and the NATS URL names a Service of
// the same kustomization.

const k8sDir = "../../deploy/k8s"

type kustomization struct {
	APIVersion         string           `yaml:"apiVersion"`
	Kind               string           `yaml:"kind"`
	Namespace          string           `yaml:"namespace"`
	Labels             []map[string]any `yaml:"labels"`
	Resources          []string         `yaml:"resources"`
	ConfigMapGenerator []struct {
		Name  string   `yaml:"name"`
		Files []string `yaml:"files"`
	} `yaml:"configMapGenerator"`
	Patches []struct {
		Target struct {
			Kind string `yaml:"kind"`
			Name string `yaml:"name"`
		} `yaml:"target"`
		Patch string `yaml:"patch"`
	} `yaml:"patches"`
}

type object struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Ports []struct {
			Port int `yaml:"port"`
		} `yaml:"ports"`
		Template struct {
			Spec struct {
				Containers []struct {
					Name         string   `yaml:"name"`
					Args         []string `yaml:"args"`
					VolumeMounts []struct {
						Name      string `yaml:"name"`
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				} `yaml:"containers"`
				Volumes []struct {
					Name      string `yaml:"name"`
					ConfigMap struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// runFlags returns the flag names `node run -h` lists.
func runFlags(t *testing.T) map[string]bool {
	t.Helper()
	var out bytes.Buffer
	dispatch([]string{"run", "-h"}, &out, &out)
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z][a-z-]*)`).FindAllStringSubmatch(out.String(), -1) {
		flags[m[1]] = true
	}
	if !flags["genome"] || !flags["nats"] {
		t.Fatalf("node run -h lists no --genome or --nats flag:\n%s", out.String())
	}
	return flags
}

func readKustomization(t *testing.T, dir string) kustomization {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		t.Fatalf("%s/kustomization.yaml: %v", dir, err)
	}
	if k.Kind != "Kustomization" {
		t.Errorf("%s/kustomization.yaml: kind %q, want Kustomization", dir, k.Kind)
	}
	return k
}

// objects reads every YAML document of the files a kustomization lists.
func objects(t *testing.T, dir string, k kustomization) []object {
	t.Helper()
	var objs []object
	for _, r := range k.Resources {
		p := filepath.Join(dir, r)
		if fi, err := os.Stat(p); err != nil {
			t.Errorf("%s: resource %s: %v", dir, r, err)
			continue
		} else if fi.IsDir() {
			objs = append(objs, objects(t, p, readKustomization(t, p))...)
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var o object
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if o.Kind == "" || o.Metadata.Name == "" {
				t.Errorf("%s: a document without kind or metadata.name", p)
			}
			objs = append(objs, o)
		}
	}
	return objs
}

func checkArgs(t *testing.T, where string, args []string, flags map[string]bool) {
	t.Helper()
	for _, a := range args {
		if !strings.HasPrefix(a, "--") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !flags[name] {
			t.Errorf("%s: node run has no flag --%s", where, name)
		}
	}
}

func TestKubernetesBase(t *testing.T) {
	flags := runFlags(t)
	dir := filepath.Join(k8sDir, "base")
	k := readKustomization(t, dir)
	objs := objects(t, dir, k)

	generated := map[string]string{} // ConfigMap name -> genome file
	for _, g := range k.ConfigMapGenerator {
		for _, f := range g.Files {
			_, file, ok := strings.Cut(f, "=")
			if !ok {
				file = f
			}
			data, err := os.ReadFile(filepath.Join(dir, file))
			if err != nil {
				t.Fatalf("configMapGenerator %s: %v", g.Name, err)
			}
			if _, err := cortical.Load(data, file, cortical.Options{}); err != nil {
				t.Errorf("the genome the manifests ship does not grow: %v", err)
			}
			generated[g.Name] = file
		}
	}

	services := map[string][]int{}
	var node *object
	for i := range objs {
		switch objs[i].Kind {
		case "Service":
			for _, p := range objs[i].Spec.Ports {
				services[objs[i].Metadata.Name] = append(services[objs[i].Metadata.Name], p.Port)
			}
		case "StatefulSet":
			if objs[i].Metadata.Name == "spikemesh-node" {
				node = &objs[i]
			}
		}
	}
	if node == nil {
		t.Fatal("base has no StatefulSet spikemesh-node")
	}
	if len(node.Spec.Template.Spec.Containers) == 0 {
		t.Fatal("spikemesh-node has no container")
	}
	c := node.Spec.Template.Spec.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "run" {
		t.Fatalf("node container args %q do not start with run", c.Args)
	}
	checkArgs(t, "base StatefulSet", c.Args, flags)
	for _, a := range c.Args {
		switch {
		case strings.HasPrefix(a, "--nats="):
			u, err := url.Parse(strings.TrimPrefix(a, "--nats="))
			if err != nil {
				t.Fatalf("%s: %v", a, err)
			}
			ports, ok := services[u.Hostname()]
			if !ok {
				t.Errorf("%s names no Service of the base (have %v)", a, services)
			}
			found := false
			for _, p := range ports {
				found = found || u.Port() == strconv.Itoa(p)
			}
			if !found {
				t.Errorf("%s: Service %s has ports %v", a, u.Hostname(), ports)
			}
		case strings.HasPrefix(a, "--genome="):
			path := strings.TrimPrefix(a, "--genome=")
			mounted := false
			for _, m := range c.VolumeMounts {
				for _, v := range node.Spec.Template.Spec.Volumes {
					if v.Name == m.Name && generated[v.ConfigMap.Name] != "" &&
						path == filepath.Join(m.MountPath, generated[v.ConfigMap.Name]) {
						mounted = true
					}
				}
			}
			if !mounted {
				t.Errorf("%s is not the generated genome ConfigMap mounted into the container", a)
			}
		}
	}
}

func TestKubernetesOverlays(t *testing.T) {
	flags := runFlags(t)
	overlays, err := os.ReadDir(filepath.Join(k8sDir, "overlays"))
	if err != nil {
		t.Fatal(err)
	}
	if len(overlays) == 0 {
		t.Fatal("no overlays")
	}
	for _, o := range overlays {
		dir := filepath.Join(k8sDir, "overlays", o.Name())
		k := readKustomization(t, dir)
		objs := objects(t, dir, k)
		for _, p := range k.Patches {
			found := false
			for _, obj := range objs {
				found = found || (obj.Kind == p.Target.Kind && obj.Metadata.Name == p.Target.Name)
			}
			if !found {
				t.Errorf("%s: patch targets %s/%s, which no resource defines", o.Name(), p.Target.Kind, p.Target.Name)
			}
			var ops []struct {
				Op    string `yaml:"op"`
				Path  string `yaml:"path"`
				Value any    `yaml:"value"`
			}
			if err := yaml.UnmarshalStrict([]byte(p.Patch), &ops); err != nil {
				t.Errorf("%s: patch is not a JSON patch: %v", o.Name(), err)
			}
			for _, op := range ops {
				if s, ok := op.Value.(string); ok && strings.HasSuffix(op.Path, "/args/-") {
					checkArgs(t, o.Name()+" patch", []string{s}, flags)
				}
			}
		}
	}
}
