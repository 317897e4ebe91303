// Package k8s_test checks the Kubernetes manifests of deploy/k8s without a
// cluster: every overlay is rendered in process with kustomize, every object
// is decoded strictly into the Kubernetes API types (an unknown or misspelt
// field fails), and the objects are cross-checked against each other and
// against the node binary built from this repository (its `node run` flags
// and the HTTP paths it serves). The Kubernetes modules are used by this test
// only; they never reach the node binary.
package k8s_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/spikemesh/spikemesh/cortical"
)

// servedPaths are the HTTP paths of a node that probes may use: alive, and
// ready (grown, joined, bursting).
var servedPaths = []string{"/healthz", "/readyz"}

// overlays are the overlays deploy/k8s must have, with what each is for.
var overlays = map[string]struct {
	replicas int32 // StatefulSet replicas (0: no StatefulSet)
	job      bool  // an experiment Job writing its record to a volume
	external bool  // nodes use an external NATS cluster
}{
	"single":        {replicas: 1},
	"scale-out":     {replicas: 3},
	"external-nats": {replicas: 3, external: true},
	"experiment":    {job: true},
}

// ---- the node binary ----

var (
	flagsOnce sync.Once
	flagSet   map[string]bool
	flagsErr  error
)

// runFlags builds cmd/node and returns the flags `node run -h` lists (the
// lines of the flag package's help that start with two spaces and a dash).
func runFlags(t *testing.T) map[string]bool {
	t.Helper()
	flagsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "spikemesh-k8s-test")
		if err != nil {
			flagsErr = err
			return
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "node")
		build := exec.Command("go", "build", "-o", bin, "./cmd/node")
		build.Dir = filepath.Join("..", "..")
		if out, err := build.CombinedOutput(); err != nil {
			flagsErr = fmt.Errorf("go build ./cmd/node: %v\n%s", err, out)
			return
		}
		var out bytes.Buffer
		help := exec.Command(bin, "run", "-h")
		help.Stdout, help.Stderr = &out, &out
		if err := help.Run(); err != nil {
			flagsErr = fmt.Errorf("node run -h: %v\n%s", err, out.String())
			return
		}
		flagSet = map[string]bool{}
		for _, m := range regexp.MustCompile(`(?m)^  --?([a-zA-Z0-9][a-zA-Z0-9-]*)`).FindAllStringSubmatch(out.String(), -1) {
			flagSet[m[1]] = true
		}
		if !flagSet["genome"] || !flagSet["record"] {
			flagsErr = fmt.Errorf("node run -h lists no --genome or --record flag:\n%s", out.String())
		}
	})
	if flagsErr != nil {
		t.Fatal(flagsErr)
	}
	return flagSet
}

// ---- rendering and strict decoding ----

type object struct {
	kind, name, namespace string
	meta                  *metav1.ObjectMeta
	v                     any // pointer to the k8s.io/api type
}

func (o object) String() string { return o.kind + "/" + o.name }

type bundle struct {
	name string
	objs []object
}

// render builds the kustomization in dir and returns its objects as YAML
// documents.
func render(dir string) ([][]byte, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	var docs [][]byte
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", dir, r.CurId(), err)
		}
		docs = append(docs, y)
	}
	return docs, nil
}

// decode reads one object strictly into its API type.
func decode(doc []byte) (object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return object{}, err
	}
	var v any
	var meta *metav1.ObjectMeta
	switch tm.APIVersion + " " + tm.Kind {
	case "v1 Namespace":
		x := &corev1.Namespace{}
		v, meta = x, &x.ObjectMeta
	case "v1 ServiceAccount":
		x := &corev1.ServiceAccount{}
		v, meta = x, &x.ObjectMeta
	case "v1 ConfigMap":
		x := &corev1.ConfigMap{}
		v, meta = x, &x.ObjectMeta
	case "v1 Secret":
		x := &corev1.Secret{}
		v, meta = x, &x.ObjectMeta
	case "v1 Service":
		x := &corev1.Service{}
		v, meta = x, &x.ObjectMeta
	case "v1 PersistentVolumeClaim":
		x := &corev1.PersistentVolumeClaim{}
		v, meta = x, &x.ObjectMeta
	case "apps/v1 StatefulSet":
		x := &appsv1.StatefulSet{}
		v, meta = x, &x.ObjectMeta
	case "batch/v1 Job":
		x := &batchv1.Job{}
		v, meta = x, &x.ObjectMeta
	case "policy/v1 PodDisruptionBudget":
		x := &policyv1.PodDisruptionBudget{}
		v, meta = x, &x.ObjectMeta
	case "networking.k8s.io/v1 NetworkPolicy":
		x := &networkingv1.NetworkPolicy{}
		v, meta = x, &x.ObjectMeta
	default:
		return object{}, fmt.Errorf("an object of kind %q, apiVersion %q: not a kind these manifests use", tm.Kind, tm.APIVersion)
	}
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		return object{}, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	if meta.Name == "" {
		return object{}, fmt.Errorf("a %s without metadata.name", tm.Kind)
	}
	return object{kind: tm.Kind, name: meta.Name, namespace: meta.Namespace, meta: meta, v: v}, nil
}

func decodeAll(name string, docs [][]byte) (*bundle, error) {
	b := &bundle{name: name}
	var errs []error
	for _, d := range docs {
		o, err := decode(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		b.objs = append(b.objs, o)
	}
	return b, errors.Join(errs...)
}

func overlayDir(name string) string {
	if name == "base" {
		return "base"
	}
	return filepath.Join("overlays", name)
}

var (
	renderMu sync.Mutex
	rendered = map[string][][]byte{}
)

// load renders a kustomization (cached) and decodes it afresh.
func load(t *testing.T, name string) *bundle {
	t.Helper()
	renderMu.Lock()
	docs, ok := rendered[name]
	if !ok {
		var err error
		docs, err = render(overlayDir(name))
		if err != nil {
			renderMu.Unlock()
			t.Fatal(err)
		}
		rendered[name] = docs
	}
	renderMu.Unlock()
	b, err := decodeAll(name, docs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func all[T any](b *bundle) []*T {
	var out []*T
	for _, o := range b.objs {
		if x, ok := o.v.(*T); ok {
			out = append(out, x)
		}
	}
	return out
}

// ---- the cross-checks ----

// workload is a pod template of a StatefulSet or a Job.
type workload struct {
	what      string // "StatefulSet/spikemesh"
	namespace string
	sts       *appsv1.StatefulSet
	job       *batchv1.Job
	tmpl      *corev1.PodTemplateSpec
}

func workloads(b *bundle) []workload {
	var out []workload
	for _, s := range all[appsv1.StatefulSet](b) {
		out = append(out, workload{"StatefulSet/" + s.Name, s.Namespace, s, nil, &s.Spec.Template})
	}
	for _, j := range all[batchv1.Job](b) {
		out = append(out, workload{"Job/" + j.Name, j.Namespace, nil, j, &j.Spec.Template})
	}
	return out
}

type checker struct {
	b     *bundle
	flags map[string]bool
	errs  []string
}

func (c *checker) errorf(format string, args ...any) {
	c.errs = append(c.errs, c.b.name+": "+fmt.Sprintf(format, args...))
}

// check runs every cross-check on a rendered kustomization and returns what
// is wrong.
func check(b *bundle, flags map[string]bool) []string {
	c := &checker{b: b, flags: flags}
	c.labels()
	c.namespaces()
	ws := workloads(b)
	if len(ws) == 0 {
		c.errorf("no StatefulSet and no Job")
	}
	for _, w := range ws {
		c.workload(w)
	}
	c.services(ws)
	c.disruptionBudgets(ws)
	c.networkPolicies(ws)
	return c.errs
}

var requiredLabels = []string{"app.kubernetes.io/name", "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by", "app.kubernetes.io/component"}

func (c *checker) labels() {
	for _, o := range c.b.objs {
		for _, l := range requiredLabels {
			if o.meta.Labels[l] == "" {
				c.errorf("%s has no label %s", o, l)
			}
		}
	}
	for _, w := range workloads(c.b) {
		for _, l := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component", "app.kubernetes.io/part-of"} {
			if w.tmpl.Labels[l] == "" {
				c.errorf("%s: the pod template has no label %s", w.what, l)
			}
		}
	}
}

func (c *checker) namespaces() {
	ns := map[string]bool{}
	var declared []string
	for _, o := range c.b.objs {
		if o.kind == "Namespace" {
			declared = append(declared, o.name)
			continue
		}
		ns[o.namespace] = true
	}
	if len(ns) > 1 {
		c.errorf("objects in several namespaces: %v", ns)
	}
	for _, d := range declared {
		if !ns[d] {
			c.errorf("Namespace %s is declared, but the objects live in %v", d, ns)
		}
	}
}

func (c *checker) find(kind, name, namespace string) (object, bool) {
	for _, o := range c.b.objs {
		if o.kind == kind && o.name == name && o.namespace == namespace {
			return o, true
		}
	}
	return object{}, false
}

// expand resolves $(VAR) references the way the kubelet does: from the
// container's env entries defined before (for env) or all of them (for
// args). fieldRef values are those of the pod podName in namespace.
func expand(s string, env map[string]string) (string, error) {
	var unresolved []string
	out := regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`).ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		if v, ok := env[name]; ok {
			return v
		}
		unresolved = append(unresolved, name)
		return m
	})
	if len(unresolved) > 0 {
		return out, fmt.Errorf("$(%s) is not an env var defined before its use", strings.Join(unresolved, "), $("))
	}
	return out, nil
}

func (c *checker) env(what string, ct *corev1.Container, podName, namespace string) map[string]string {
	env := map[string]string{}
	for _, e := range ct.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
			switch e.ValueFrom.FieldRef.FieldPath {
			case "metadata.name":
				env[e.Name] = podName
			case "metadata.namespace":
				env[e.Name] = namespace
			default:
				env[e.Name] = "field:" + e.ValueFrom.FieldRef.FieldPath
			}
		case e.ValueFrom != nil:
			env[e.Name] = "ref:" + e.Name
		default:
			v, err := expand(e.Value, env)
			if err != nil {
				c.errorf("%s: env %s: %v", what, e.Name, err)
			}
			env[e.Name] = v
		}
	}
	return env
}

// nodeArgs returns the flags of the node container's `node run` command
// line, with $(VAR) expanded, as name → value ("" for a bool flag).
func (c *checker) nodeArgs(what string, ct *corev1.Container, env map[string]string) map[string]string {
	args := ct.Args
	if len(ct.Command) > 0 {
		c.errorf("%s: container %s overrides the image's entrypoint (command %q)", what, ct.Name, ct.Command)
	}
	if len(args) == 0 || args[0] != "run" {
		c.errorf("%s: container %s: args %q do not start with run", what, ct.Name, args)
		return map[string]string{}
	}
	out := map[string]string{}
	for _, a := range args[1:] {
		if !strings.HasPrefix(a, "--") {
			c.errorf("%s: argument %q: write every flag as --name=value", what, a)
			continue
		}
		name, value, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !c.flags[name] {
			c.errorf("%s: node run has no flag --%s", what, name)
		}
		if _, dup := out[name]; dup {
			c.errorf("%s: --%s given twice", what, name)
		}
		v, err := expand(value, env)
		if err != nil {
			c.errorf("%s: --%s: %v", what, name, err)
		}
		out[name] = v
	}
	return out
}

func portOf(hostport string) (int32, string, error) {
	host, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return 0, "", err
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return 0, "", fmt.Errorf("port %q", p)
	}
	return int32(n), host, nil
}

func containerPort(ct *corev1.Container, name string) *corev1.ContainerPort {
	for i := range ct.Ports {
		if ct.Ports[i].Name == name {
			return &ct.Ports[i]
		}
	}
	return nil
}

// resolvePort finds the container port a Service, probe or policy names
// (by name or number) with the protocol.
func resolvePort(tmpl *corev1.PodTemplateSpec, p intstr.IntOrString, proto corev1.Protocol) *corev1.ContainerPort {
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	for i := range tmpl.Spec.Containers {
		for j := range tmpl.Spec.Containers[i].Ports {
			cp := &tmpl.Spec.Containers[i].Ports[j]
			pp := cp.Protocol
			if pp == "" {
				pp = corev1.ProtocolTCP
			}
			if pp != proto {
				continue
			}
			if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
				return cp
			}
		}
	}
	return nil
}

// listeners maps the node's listening flags to the container ports they need.
var listeners = []struct {
	flag  string
	ports []corev1.ContainerPort
}{
	{"http", []corev1.ContainerPort{{Name: "http", Protocol: corev1.ProtocolTCP}}},
	{"nats-listen", []corev1.ContainerPort{{Name: "nats", Protocol: corev1.ProtocolTCP}}},
	{"nats-cluster", []corev1.ContainerPort{{Name: "nats-route", Protocol: corev1.ProtocolTCP}}},
	{"cluster-bind", []corev1.ContainerPort{{Name: "gossip", Protocol: corev1.ProtocolTCP}, {Name: "gossip-udp", Protocol: corev1.ProtocolUDP}}},
}

func (c *checker) workload(w workload) {
	spec := &w.tmpl.Spec
	ns := w.namespace
	if ns == "" {
		ns = "default"
	}
	podName := w.what
	if w.sts != nil {
		podName = w.sts.Name + "-0"
		sel, err := metav1.LabelSelectorAsSelector(w.sts.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(w.tmpl.Labels)) {
			c.errorf("%s: selector %v does not match the pod template's labels %v", w.what, w.sts.Spec.Selector, w.tmpl.Labels)
		}
	}
	if w.job != nil && (w.job.Spec.Selector != nil || w.job.Spec.ManualSelector != nil) {
		c.errorf("%s: sets its own selector; let the Job controller choose it", w.what)
	}

	// security
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		c.errorf("%s: the pod does not set runAsNonRoot: true", w.what)
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		c.errorf("%s: the pod's seccomp profile is not RuntimeDefault", w.what)
	}
	if psc != nil && psc.RunAsUser != nil && *psc.RunAsUser == 0 {
		c.errorf("%s: the pod runs as user 0", w.what)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		c.errorf("%s: mounts a service account token (set automountServiceAccountToken: false)", w.what)
	}
	if spec.ServiceAccountName != "" {
		if _, ok := c.find("ServiceAccount", spec.ServiceAccountName, w.namespace); !ok {
			c.errorf("%s: service account %s is not defined", w.what, spec.ServiceAccountName)
		}
	}
	if len(spec.InitContainers) > 0 {
		c.errorf("%s: has init containers, which these checks do not cover", w.what)
	}
	volumes := map[string]*corev1.Volume{}
	for i := range spec.Volumes {
		v := &spec.Volumes[i]
		volumes[v.Name] = v
		switch {
		case v.ConfigMap != nil:
			if _, ok := c.find("ConfigMap", v.ConfigMap.Name, w.namespace); !ok {
				c.errorf("%s: volume %s: ConfigMap %s is not defined", w.what, v.Name, v.ConfigMap.Name)
			}
		case v.Secret != nil:
			if _, ok := c.find("Secret", v.Secret.SecretName, w.namespace); !ok {
				c.errorf("%s: volume %s: Secret %s is not defined", w.what, v.Name, v.Secret.SecretName)
			}
		case v.PersistentVolumeClaim != nil:
			if _, ok := c.find("PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName, w.namespace); !ok {
				c.errorf("%s: volume %s: PersistentVolumeClaim %s is not defined", w.what, v.Name, v.PersistentVolumeClaim.ClaimName)
			}
		}
	}

	var node *corev1.Container
	for i := range spec.Containers {
		ct := &spec.Containers[i]
		what := w.what + " container " + ct.Name
		sc := ct.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			c.errorf("%s: root filesystem is not read-only", what)
		}
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			c.errorf("%s: allows privilege escalation", what)
		}
		if sc == nil || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			c.errorf("%s: does not drop ALL capabilities (and add none)", what)
		}
		if sc != nil && sc.Privileged != nil && *sc.Privileged {
			c.errorf("%s: is privileged", what)
		}
		if sc != nil && sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot {
			c.errorf("%s: runAsNonRoot: false", what)
		}
		if sc != nil && sc.SeccompProfile != nil && sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			c.errorf("%s: seccomp profile %s", what, sc.SeccompProfile.Type)
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, okReq := ct.Resources.Requests[r]
			lim, okLim := ct.Resources.Limits[r]
			if !okReq || !okLim {
				c.errorf("%s: no %s request and limit", what, r)
			} else if req.Cmp(lim) > 0 {
				c.errorf("%s: %s request %s above the limit %s", what, r, req.String(), lim.String())
			}
		}
		for _, m := range ct.VolumeMounts {
			if volumes[m.Name] == nil {
				c.errorf("%s: mounts volume %s, which the pod does not define", what, m.Name)
			}
		}
		for _, p := range ct.Ports {
			if p.Name == "" {
				c.errorf("%s: port %d has no name", what, p.ContainerPort)
			}
		}
		if ct.Name == "node" {
			node = ct
		}
	}
	if node == nil {
		c.errorf("%s: no container named node", w.what)
		return
	}
	what := w.what + " container node"
	env := c.env(what, node, podName, ns)
	args := c.nodeArgs(what, node, env)

	// A cluster node waits for the others once or more per burst; without
	// this its runtime's monitor thread sleeps deeply and is woken at every
	// burst (docs/cluster.md, "The Go runtime's monitor thread").
	if _, cluster := args["cluster-bind"]; cluster && !slices.Contains(strings.Split(env["GODEBUG"], ","), monitorAwake) {
		c.errorf("%s: a cluster node without GODEBUG=%s", what, monitorAwake)
	}

	// listeners and their container ports, both ways
	for _, l := range listeners {
		v, set := args[l.flag]
		for _, want := range l.ports {
			cp := containerPort(node, want.Name)
			if !set {
				if cp != nil {
					c.errorf("%s: port %s, but no --%s", what, want.Name, l.flag)
				}
				continue
			}
			port, host, err := portOf(v)
			if err != nil {
				c.errorf("%s: --%s=%s: %v", what, l.flag, v, err)
				break
			}
			if host != "0.0.0.0" && host != "" && host != "::" {
				c.errorf("%s: --%s=%s listens on %s only; other pods cannot reach it", what, l.flag, v, host)
			}
			if cp == nil {
				c.errorf("%s: --%s=%s, but no container port named %s", what, l.flag, v, want.Name)
				continue
			}
			if cp.ContainerPort != port || (cp.Protocol != want.Protocol && !(cp.Protocol == "" && want.Protocol == corev1.ProtocolTCP)) {
				c.errorf("%s: --%s=%s, but container port %s is %d/%s", what, l.flag, v, want.Name, cp.ContainerPort, cp.Protocol)
			}
		}
	}

	// probes on the paths the node serves, on its --http port
	probes := map[string]*corev1.Probe{"startup": node.StartupProbe, "liveness": node.LivenessProbe, "readiness": node.ReadinessProbe}
	for _, kind := range []string{"startup", "liveness", "readiness"} {
		p := probes[kind]
		if p == nil {
			if kind != "readiness" || w.sts != nil {
				c.errorf("%s: no %s probe", what, kind)
			}
			continue
		}
		if p.HTTPGet == nil {
			c.errorf("%s: the %s probe is not an HTTP GET", what, kind)
			continue
		}
		if !slices.Contains(servedPaths, p.HTTPGet.Path) {
			c.errorf("%s: the %s probe asks for %s; the node serves %v", what, kind, p.HTTPGet.Path, servedPaths)
		}
		cp := resolvePort(w.tmpl, p.HTTPGet.Port, corev1.ProtocolTCP)
		if cp == nil || cp.Name != "http" {
			c.errorf("%s: the %s probe's port %s is not the http port", what, kind, p.HTTPGet.Port.String())
		}
	}
	if p := node.ReadinessProbe; w.sts != nil && p != nil && p.HTTPGet != nil && p.HTTPGet.Path != "/readyz" {
		c.errorf("%s: the readiness probe asks for %s, not /readyz", what, p.HTTPGet.Path)
	}

	// files the flags name: the genome from a ConfigMap that grows, the
	// credentials from a Secret, the record on a writable volume
	mountOf := func(file string) (*corev1.VolumeMount, *corev1.Volume, string) {
		for i := range node.VolumeMounts {
			m := &node.VolumeMounts[i]
			if rel, ok := strings.CutPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/"); ok {
				return m, volumes[m.Name], rel
			}
		}
		return nil, nil, ""
	}
	if g, ok := args["genome"]; ok {
		_, v, key := mountOf(g)
		if v == nil || v.ConfigMap == nil {
			c.errorf("%s: --genome=%s is not in a mounted ConfigMap", what, g)
		} else if o, ok := c.find("ConfigMap", v.ConfigMap.Name, w.namespace); ok {
			cm := o.v.(*corev1.ConfigMap)
			if data, ok := cm.Data[key]; !ok {
				c.errorf("%s: --genome=%s: ConfigMap %s has no key %s", what, g, cm.Name, key)
			} else if _, err := cortical.Load([]byte(data), key, cortical.Options{}); err != nil {
				c.errorf("%s: the genome of ConfigMap %s does not grow: %v", what, cm.Name, err)
			}
		}
	} else {
		c.errorf("%s: no --genome (the node would run its built-in default)", what)
	}
	if cr, ok := args["nats-creds"]; ok {
		_, v, key := mountOf(cr)
		if v == nil || v.Secret == nil {
			c.errorf("%s: --nats-creds=%s is not in a mounted Secret", what, cr)
		} else if o, ok := c.find("Secret", v.Secret.SecretName, w.namespace); ok {
			s := o.v.(*corev1.Secret)
			if _, ok := s.Data[key]; !ok {
				if _, ok := s.StringData[key]; !ok {
					c.errorf("%s: --nats-creds=%s: Secret %s has no key %s", what, cr, s.Name, key)
				}
			}
		}
	}
	if r, ok := args["record"]; ok {
		m, v, _ := mountOf(r)
		if v == nil || v.PersistentVolumeClaim == nil || m.ReadOnly {
			c.errorf("%s: --record=%s is not on a writable PersistentVolumeClaim", what, r)
		}
	}
	if n, ok := args["nats"]; ok {
		u, err := url.Parse(n)
		if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Hostname() == "" {
			c.errorf("%s: --nats=%s is not a nats:// URL", what, n)
		}
		if _, listen := args["nats-listen"]; listen {
			c.errorf("%s: both --nats (an external server) and --nats-listen (the embedded one)", what)
		}
	}

	if w.sts != nil {
		c.cluster(w, what, args, ns)
	}
	if w.job != nil {
		if w.job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever && w.job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
			c.errorf("%s: restartPolicy %q", w.what, w.job.Spec.Template.Spec.RestartPolicy)
		}
		if _, ok := args["bursts"]; !ok {
			c.errorf("%s: no --bursts: the Job would never complete", what)
		}
	}
}

// cluster checks the membership flags of a StatefulSet: every pod joins the
// stable DNS names of pods 0..replicas-1 under the headless Service, and
// waits for exactly that many members.
func (c *checker) cluster(w workload, what string, args map[string]string, ns string) {
	s := w.sts
	replicas := int32(1)
	if s.Spec.Replicas != nil {
		replicas = *s.Spec.Replicas
	}
	if s.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		c.errorf("%s: podManagementPolicy %q; the nodes must start in parallel (a node is ready only when all joined)", w.what, s.Spec.PodManagementPolicy)
	}
	if args["node-name"] != s.Name+"-0" {
		c.errorf("%s: --node-name is %q in pod %s-0; use $(POD_NAME) from metadata.name", what, args["node-name"], s.Name)
	}
	bind, ok := args["cluster-bind"]
	if !ok {
		c.errorf("%s: no --cluster-bind", what)
		return
	}
	port, _, err := portOf(bind)
	if err != nil {
		return
	}
	if args["expect-nodes"] != strconv.Itoa(int(replicas)) {
		c.errorf("%s: --expect-nodes=%s, but %d replicas", what, args["expect-nodes"], replicas)
	}
	join := strings.Split(args["join"], ",")
	if args["join"] == "" {
		join = nil
	}
	if len(join) != int(replicas) {
		c.errorf("%s: --join lists %d peers, but %d replicas", what, len(join), replicas)
	}
	for i, j := range join {
		want := fmt.Sprintf("%s-%d.%s.%s.svc.cluster.local:%d", s.Name, i, s.Spec.ServiceName, ns, port)
		if j != want {
			c.errorf("%s: --join entry %d is %s, want %s", what, i, j, want)
		}
	}
	o, ok := c.find("Service", s.Spec.ServiceName, s.Namespace)
	if !ok {
		c.errorf("%s: serviceName %s is not a Service of the manifests", w.what, s.Spec.ServiceName)
		return
	}
	svc := o.v.(*corev1.Service)
	if svc.Spec.ClusterIP != corev1.ClusterIPNone {
		c.errorf("%s: Service %s is not headless (clusterIP: None)", w.what, svc.Name)
	}
	if !svc.Spec.PublishNotReadyAddresses {
		c.errorf("%s: Service %s does not publish not-ready addresses; peers could not find each other before they are ready", w.what, svc.Name)
	}
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(s.Spec.Template.Labels)) || len(svc.Spec.Selector) == 0 {
		c.errorf("%s: Service %s does not select its pods", w.what, svc.Name)
	}
	gossip := false
	for _, p := range svc.Spec.Ports {
		gossip = gossip || p.Port == port
	}
	if !gossip {
		c.errorf("%s: Service %s has no port %d for --cluster-bind", w.what, svc.Name, port)
	}
}

func (c *checker) services(ws []workload) {
	for _, svc := range all[corev1.Service](c.b) {
		what := "Service/" + svc.Name
		if len(svc.Spec.Selector) == 0 {
			c.errorf("%s has no selector", what)
			continue
		}
		var selected []workload
		for _, w := range ws {
			if w.namespace == svc.Namespace && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(w.tmpl.Labels)) {
				selected = append(selected, w)
			}
		}
		if len(selected) == 0 {
			c.errorf("%s: selector %v selects no pods", what, svc.Spec.Selector)
		}
		if len(svc.Spec.Ports) == 0 {
			c.errorf("%s has no ports", what)
		}
		for _, p := range svc.Spec.Ports {
			target := p.TargetPort
			if target.Type == intstr.Int && target.IntVal == 0 {
				target = intstr.FromInt32(p.Port)
			}
			for _, w := range selected {
				cp := resolvePort(w.tmpl, target, p.Protocol)
				if cp == nil {
					c.errorf("%s port %s (%d/%s): %s has no container port %s", what, p.Name, p.Port, p.Protocol, w.what, target.String())
				} else if cp.ContainerPort != p.Port {
					c.errorf("%s port %s is %d, but container port %s of %s is %d", what, p.Name, p.Port, cp.Name, w.what, cp.ContainerPort)
				}
			}
		}
	}
}

func (c *checker) disruptionBudgets(ws []workload) {
	pdbs := all[policyv1.PodDisruptionBudget](c.b)
	for _, p := range pdbs {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		matched := false
		for _, w := range ws {
			matched = matched || (err == nil && !sel.Empty() && w.sts != nil && w.namespace == p.Namespace && sel.Matches(labels.Set(w.tmpl.Labels)))
		}
		if !matched {
			c.errorf("PodDisruptionBudget/%s: selector %v selects no StatefulSet's pods", p.Name, p.Spec.Selector)
		}
		if (p.Spec.MinAvailable == nil) == (p.Spec.MaxUnavailable == nil) {
			c.errorf("PodDisruptionBudget/%s: set one of minAvailable and maxUnavailable", p.Name)
		}
	}
	for _, w := range ws {
		if w.sts == nil {
			continue
		}
		covered := false
		for _, p := range pdbs {
			sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
			covered = covered || (err == nil && !sel.Empty() && sel.Matches(labels.Set(w.tmpl.Labels)))
		}
		if !covered {
			c.errorf("%s: no PodDisruptionBudget covers its pods", w.what)
		}
	}
}

func (c *checker) networkPolicies(ws []workload) {
	nps := all[networkingv1.NetworkPolicy](c.b)
	for _, w := range ws {
		covered := false
		for _, np := range nps {
			sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
			covered = covered || (err == nil && !sel.Empty() && np.Namespace == w.namespace && sel.Matches(labels.Set(w.tmpl.Labels)))
		}
		if !covered {
			c.errorf("%s: no NetworkPolicy selects its pods", w.what)
		}
	}
	for _, np := range nps {
		what := "NetworkPolicy/" + np.Name
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		var selected []workload
		for _, w := range ws {
			if err == nil && !sel.Empty() && w.namespace == np.Namespace && sel.Matches(labels.Set(w.tmpl.Labels)) {
				selected = append(selected, w)
			}
		}
		if len(selected) == 0 {
			c.errorf("%s: podSelector %v selects no pods", what, np.Spec.PodSelector)
		}
		if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
			c.errorf("%s: does not restrict ingress", what)
		}
		for i, rule := range np.Spec.Ingress {
			for _, peer := range rule.From {
				if peer.PodSelector == nil {
					continue
				}
				ps, err := metav1.LabelSelectorAsSelector(peer.PodSelector)
				found := false
				for _, w := range ws {
					found = found || (err == nil && ps.Matches(labels.Set(w.tmpl.Labels)))
				}
				if !found {
					c.errorf("%s: ingress rule %d admits pods %v, which no workload has", what, i, peer.PodSelector)
				}
			}
			for _, p := range rule.Ports {
				if p.Port == nil {
					c.errorf("%s: ingress rule %d opens every port", what, i)
					continue
				}
				proto := corev1.ProtocolTCP
				if p.Protocol != nil {
					proto = *p.Protocol
				}
				for _, w := range selected {
					if resolvePort(w.tmpl, *p.Port, proto) == nil {
						c.errorf("%s: ingress rule %d port %s/%s is no container port of %s", what, i, p.Port.String(), proto, w.what)
					}
				}
			}
		}
	}
}

// ---- tests ----

// TestManifestsOverlays renders every overlay, decodes it strictly and runs
// every cross-check against the node built from this repository.
func TestManifestsOverlays(t *testing.T) {
	flags := runFlags(t)
	ents, err := os.ReadDir("overlays")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range ents {
		if e.IsDir() {
			found = append(found, e.Name())
		}
	}
	var want []string
	for name := range overlays {
		want = append(want, name)
	}
	slices.Sort(want)
	if !slices.Equal(found, want) {
		t.Errorf("overlays %v, want %v", found, want)
	}
	for _, name := range append([]string{"base"}, found...) {
		t.Run(name, func(t *testing.T) {
			b := load(t, name)
			for _, e := range check(b, flags) {
				t.Error(e)
			}
			exp, ok := overlays[name]
			if name == "base" {
				exp, ok = overlays["single"], true
			}
			if !ok {
				return
			}
			sts := all[appsv1.StatefulSet](b)
			jobs := all[batchv1.Job](b)
			if exp.replicas > 0 {
				if len(sts) != 1 || sts[0].Spec.Replicas == nil || *sts[0].Spec.Replicas != exp.replicas {
					t.Errorf("want one StatefulSet of %d replicas", exp.replicas)
				} else {
					args := strings.Join(sts[0].Spec.Template.Spec.Containers[0].Args, " ")
					if exp.external != strings.Contains(args, "--nats=") || exp.external == strings.Contains(args, "--nats-listen=") {
						t.Errorf("external NATS %v, but the node runs %s", exp.external, args)
					}
					if exp.replicas > 1 && !exp.external && !strings.Contains(args, "--nats-cluster=") {
						t.Errorf("%d nodes with embedded NATS servers, but no --nats-cluster", exp.replicas)
					}
				}
				if len(all[corev1.Service](b)) != 2 {
					t.Error("want two Services: the headless one of the peers and the clients'")
				}
			}
			if exp.job {
				if len(jobs) != 1 || len(sts) != 0 {
					t.Errorf("want one Job and no StatefulSet, have %d and %d", len(jobs), len(sts))
				} else if !strings.Contains(strings.Join(jobs[0].Spec.Template.Spec.Containers[0].Args, " "), "--record=") {
					t.Error("the experiment Job writes no --record")
				}
			}
		})
	}
}

// TestManifestChecksFail breaks a rendered overlay in one place at a time and
// expects the cross-checks to say so.
// monitorAwake is the GODEBUG setting cluster nodes run with (node bench
// --workload cluster gives its nodes the same).
const monitorAwake = "schedtrace=2147483647"

func TestManifestChecksFail(t *testing.T) {
	flags := runFlags(t)
	if errs := check(load(t, "scale-out"), flags); len(errs) > 0 {
		t.Fatalf("scale-out does not pass the checks: %v", errs)
	}
	stsOf := func(b *bundle) *appsv1.StatefulSet { return all[appsv1.StatefulSet](b)[0] }
	node := func(b *bundle) *corev1.Container { return &stsOf(b).Spec.Template.Spec.Containers[0] }
	svc := func(b *bundle, name string) *corev1.Service {
		for _, s := range all[corev1.Service](b) {
			if s.Name == name {
				return s
			}
		}
		t.Fatalf("no Service %s", name)
		return nil
	}
	setArg := func(b *bundle, flag, value string) {
		ct := node(b)
		for i, a := range ct.Args {
			if strings.HasPrefix(a, "--"+flag+"=") {
				ct.Args[i] = "--" + flag + "=" + value
				return
			}
		}
		t.Fatalf("no --%s", flag)
	}
	env := func(b *bundle, name string) *corev1.EnvVar {
		for i, e := range node(b).Env {
			if e.Name == name {
				return &node(b).Env[i]
			}
		}
		t.Fatalf("no env %s", name)
		return nil
	}
	for _, tc := range []struct {
		name, overlay, want string
		breakIt             func(b *bundle)
	}{
		{"selector", "", "selector", func(b *bundle) {
			stsOf(b).Spec.Selector.MatchLabels["app.kubernetes.io/component"] = "other"
		}},
		{"service selector", "", "selects no pods", func(b *bundle) {
			svc(b, "spikemesh").Spec.Selector["app.kubernetes.io/instance"] = "other"
		}},
		{"service port", "", "port http is 8081", func(b *bundle) { svc(b, "spikemesh").Spec.Ports[0].Port = 8081 }},
		{"service target", "", "no container port metrics", func(b *bundle) {
			svc(b, "spikemesh").Spec.Ports[0].TargetPort = intstr.FromString("metrics")
		}},
		{"service protocol", "", "no container port gossip", func(b *bundle) {
			svc(b, "spikemesh-peers").Spec.Ports[0].Protocol = corev1.ProtocolUDP
		}},
		{"http flag", "", "--http=0.0.0.0:9090, but container port http is 8080", func(b *bundle) { setArg(b, "http", "0.0.0.0:9090") }},
		{"nats flag", "", "--nats-listen=0.0.0.0:4223", func(b *bundle) { setArg(b, "nats-listen", "0.0.0.0:4223") }},
		{"gossip flag", "", "--cluster-bind=0.0.0.0:7947", func(b *bundle) { setArg(b, "cluster-bind", "0.0.0.0:7947") }},
		{"loopback", "", "listens on 127.0.0.1 only", func(b *bundle) { setArg(b, "nats-cluster", "127.0.0.1:6222") }},
		{"port without flag", "", "port nats-route, but no --nats-cluster", func(b *bundle) {
			ct := node(b)
			ct.Args = slices.DeleteFunc(ct.Args, func(a string) bool { return strings.HasPrefix(a, "--nats-cluster=") })
		}},
		{"probe path", "", "asks for /health", func(b *bundle) { node(b).LivenessProbe.HTTPGet.Path = "/health" }},
		{"probe port", "", "readiness probe's port nats is not the http port", func(b *bundle) {
			node(b).ReadinessProbe.HTTPGet.Port = intstr.FromString("nats")
		}},
		{"no readiness", "", "no readiness probe", func(b *bundle) { node(b).ReadinessProbe = nil }},
		{"unknown flag", "", "node run has no flag --turbo", func(b *bundle) { node(b).Args = append(node(b).Args, "--turbo=1") }},
		{"replicas", "", "--expect-nodes=3, but 4 replicas", func(b *bundle) { *stsOf(b).Spec.Replicas = 4 }},
		{"join", "", "--join lists 2 peers, but 3 replicas", func(b *bundle) {
			e := env(b, "SPIKEMESH_JOIN")
			e.Value = e.Value[:strings.LastIndex(e.Value, ",")]
		}},
		{"join name", "", "--join entry 1", func(b *bundle) {
			e := env(b, "SPIKEMESH_JOIN")
			e.Value = strings.Replace(e.Value, "spikemesh-1.", "spikemesh-7.", 1)
		}},
		{"env order", "", "$(POD_NAMESPACE) is not an env var defined before its use", func(b *bundle) {
			ct := node(b)
			ns := ct.Env[1]
			ct.Env = append(slices.Delete(ct.Env, 1, 2), ns)
		}},
		{"node name", "", "--node-name", func(b *bundle) { setArg(b, "node-name", "brain") }},
		{"monitor", "", "a cluster node without GODEBUG=schedtrace=2147483647", func(b *bundle) { env(b, "GODEBUG").Value = "gctrace=1" }},
		{"ordered", "", "podManagementPolicy", func(b *bundle) { stsOf(b).Spec.PodManagementPolicy = appsv1.OrderedReadyPodManagement }},
		{"not ready addresses", "", "does not publish not-ready addresses", func(b *bundle) {
			svc(b, "spikemesh-peers").Spec.PublishNotReadyAddresses = false
		}},
		{"read-only root", "", "root filesystem is not read-only", func(b *bundle) {
			*node(b).SecurityContext.ReadOnlyRootFilesystem = false
		}},
		{"capabilities", "", "does not drop ALL capabilities", func(b *bundle) { node(b).SecurityContext.Capabilities.Drop = nil }},
		{"escalation", "", "allows privilege escalation", func(b *bundle) { node(b).SecurityContext.AllowPrivilegeEscalation = nil }},
		{"seccomp", "", "seccomp profile is not RuntimeDefault", func(b *bundle) {
			stsOf(b).Spec.Template.Spec.SecurityContext.SeccompProfile = nil
		}},
		{"root", "", "runAsNonRoot", func(b *bundle) { *stsOf(b).Spec.Template.Spec.SecurityContext.RunAsNonRoot = false }},
		{"limits", "", "no memory request and limit", func(b *bundle) { delete(node(b).Resources.Limits, corev1.ResourceMemory) }},
		{"genome path", "", "--genome=/etc/spikemesh/genome.json is not in a mounted ConfigMap", func(b *bundle) {
			setArg(b, "genome", "/etc/spikemesh/genome.json")
		}},
		{"genome grows", "", "does not grow", func(b *bundle) {
			for _, cm := range all[corev1.ConfigMap](b) {
				cm.Data["genome.json"] = `{"genome_id": 1}`
			}
		}},
		{"creds key", "", "has no key user.creds", func(b *bundle) { setArg(b, "nats-creds", "/etc/spikemesh/creds/user.creds") }},
		{"pdb", "", "no PodDisruptionBudget covers", func(b *bundle) {
			all[policyv1.PodDisruptionBudget](b)[0].Spec.Selector.MatchLabels["app.kubernetes.io/instance"] = "x"
		}},
		{"policy port", "", "port nats-routes/TCP is no container port", func(b *bundle) {
			p := intstr.FromString("nats-routes")
			all[networkingv1.NetworkPolicy](b)[0].Spec.Ingress[0].Ports[2].Port = &p
		}},
		{"policy selector", "", "no NetworkPolicy selects its pods", func(b *bundle) {
			all[networkingv1.NetworkPolicy](b)[0].Spec.PodSelector.MatchLabels["app.kubernetes.io/name"] = "x"
		}},
		{"label", "", "has no label app.kubernetes.io/part-of", func(b *bundle) {
			delete(svc(b, "spikemesh").Labels, "app.kubernetes.io/part-of")
		}},
		{"record volume", "experiment", "--record=/tmp/record.jsonl is not on a writable PersistentVolumeClaim", func(b *bundle) {
			ct := &all[batchv1.Job](b)[0].Spec.Template.Spec.Containers[0]
			for i, a := range ct.Args {
				if strings.HasPrefix(a, "--record=") {
					ct.Args[i] = "--record=/tmp/record.jsonl"
				}
			}
		}},
		{"job without bursts", "experiment", "no --bursts", func(b *bundle) {
			ct := &all[batchv1.Job](b)[0].Spec.Template.Spec.Containers[0]
			ct.Args = slices.DeleteFunc(ct.Args, func(a string) bool { return strings.HasPrefix(a, "--bursts=") })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			overlay := tc.overlay
			if overlay == "" {
				overlay = "scale-out"
			}
			b := load(t, overlay)
			tc.breakIt(b)
			errs := check(b, flags)
			for _, e := range errs {
				if strings.Contains(e, tc.want) {
					return
				}
			}
			t.Errorf("no check says %q; they say %q", tc.want, errs)
		})
	}
}

// TestManifestDecodeStrict: a misspelt or unknown field, or a kind the
// manifests do not use, fails decoding.
func TestManifestDecodeStrict(t *testing.T) {
	good := `apiVersion: v1
kind: Service
metadata:
  name: s
spec:
  ports:
    - port: 80
`
	if _, err := decode([]byte(good)); err != nil {
		t.Fatalf("a good Service does not decode: %v", err)
	}
	for name, doc := range map[string]string{
		"unknown field": strings.Replace(good, "  ports:", "  portz: []\n  ports:", 1),
		"misspelt":      strings.Replace(good, "port: 80", "prot: 80", 1),
		"wrong type":    strings.Replace(good, "port: 80", "port: eighty", 1),
		"unknown kind":  strings.Replace(good, "kind: Service", "kind: Deployment", 1),
		"no name":       strings.Replace(good, "  name: s\n", "  labels: {}\n", 1),
	} {
		if _, err := decode([]byte(doc)); err == nil {
			t.Errorf("%s: decodes", name)
		}
	}
	// The same through kustomize, from a kustomization in memory.
	fs := filesys.MakeFsInMemory()
	for p, s := range map[string]string{
		"/k/kustomization.yaml": "resources:\n  - svc.yaml\n",
		"/k/svc.yaml":           strings.Replace(good, "  ports:", "  selectr: {a: b}\n  ports:", 1),
	} {
		if err := fs.WriteFile(p, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, "/k")
	if err != nil {
		t.Fatal(err)
	}
	y, err := m.Resources()[0].AsYAML()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decode(y); err == nil || !strings.Contains(err.Error(), "selectr") {
		t.Errorf("a rendered Service with a misspelt field: %v", err)
	}
}

// TestManifestsPlaceholderCredentials keeps the committed credentials file a
// placeholder: no real secret in the repository.
func TestManifestsPlaceholderCredentials(t *testing.T) {
	data, err := os.ReadFile(path.Join("base", "common", "nats-creds", "node.creds"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("PLACEHOLDER")) || bytes.Contains(data, []byte("-----BEGIN")) || bytes.Contains(data, []byte("SUA")) {
		t.Error("base/common/nats-creds/node.creds must stay a placeholder, not a credential")
	}
}

// TestManifestDepsStayOut: the Kubernetes modules this test uses never reach
// the node binary.
func TestManifestDepsStayOut(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./cmd/node")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/node: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/spikemesh/spikemesh/cortical") {
		t.Fatalf("go list -deps ./cmd/node does not list cortical: %v", deps)
	}
	for _, d := range deps {
		for _, p := range []string{"k8s.io/", "sigs.k8s.io/"} {
			if strings.HasPrefix(d, p) {
				t.Errorf("the node binary depends on %s", d)
			}
		}
	}
}

// TestManifestsImage: the Dockerfile builds a static binary and runs it as
// the same non-root user the manifests ask for, and the manifests name the
// image the documentation builds.
func TestManifestsImage(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	stages := regexp.MustCompile(`(?m)^FROM\s+\S+`).FindAllStringIndex(df, -1)
	if len(stages) < 2 {
		t.Fatalf("the Dockerfile has %d stages, want a build stage and a final one", len(stages))
	}
	final := df[stages[len(stages)-1][0]:]
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/node"} {
		if !strings.Contains(df, want) {
			t.Errorf("the Dockerfile's build has no %s", want)
		}
	}
	m := regexp.MustCompile(`(?m)^USER\s+(\d+)(?::(\d+))?\s*$`).FindStringSubmatch(final)
	if m == nil {
		t.Fatal("the Dockerfile's final stage sets no numeric USER")
	}
	uid, _ := strconv.ParseInt(m[1], 10, 64)
	if uid == 0 {
		t.Error("the image runs as root")
	}
	docs, err := os.ReadFile(filepath.Join("..", "..", "docs", "kubernetes.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"single", "experiment"} {
		b := load(t, name)
		for _, w := range workloads(b) {
			psc := w.tmpl.Spec.SecurityContext
			if psc == nil || psc.RunAsUser == nil || *psc.RunAsUser != uid {
				t.Errorf("%s %s: runAsUser is not the image's user %d", name, w.what, uid)
			}
			for _, ct := range w.tmpl.Spec.Containers {
				if !bytes.Contains(docs, []byte("docker build -t "+ct.Image+" .")) {
					t.Errorf("%s %s: image %s is not the one docs/kubernetes.md builds", name, w.what, ct.Image)
				}
			}
		}
	}
}

// TestManifestsDocumented: docs/kubernetes.md explains every flag and every
// environment variable the manifests use.
func TestManifestsDocumented(t *testing.T) {
	docs, err := os.ReadFile(filepath.Join("..", "..", "docs", "kubernetes.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range overlays {
		for _, w := range workloads(load(t, name)) {
			for _, ct := range w.tmpl.Spec.Containers {
				for _, a := range ct.Args[1:] {
					flag, _, _ := strings.Cut(a, "=")
					if !bytes.Contains(docs, []byte("| `"+flag+"` |")) {
						t.Errorf("%s %s: docs/kubernetes.md has no row for %s", name, w.what, flag)
					}
				}
				for _, e := range ct.Env {
					if !bytes.Contains(docs, []byte("`"+e.Name+"`")) {
						t.Errorf("%s %s: docs/kubernetes.md does not explain %s", name, w.what, e.Name)
					}
				}
			}
		}
	}
}
