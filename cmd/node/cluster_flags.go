package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/spikemesh/spikemesh/brain"
)

// listFlag is a flag holding a comma-separated list; given again, it adds.
type listFlag struct{ v *[]string }

func (l listFlag) String() string {
	if l.v == nil {
		return ""
	}
	return strings.Join(*l.v, ",")
}

func (l listFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l.v = append(*l.v, p)
		}
	}
	return nil
}

// registerClusterFlags adds node run's cluster-mode flags to fs.
func registerClusterFlags(fs *flag.FlagSet, k *brain.ClusterConfig) {
	fs.StringVar(&k.Bind, "cluster-bind", "", "run as one node of a brain spread over several processes: memberlist listens on `HOST:PORT`")
	fs.StringVar(&k.Advertise, "cluster-advertise", "", "`HOST:PORT` peers reach this node's memberlist at (default: the bind address)")
	fs.StringVar(&k.NodeName, "node-name", "", "this node's `NAME` in the cluster (default: the host name)")
	fs.Var(listFlag{&k.Join}, "join", "seed nodes' memberlist addresses, `HOST:PORT[,...]` (the first node may list none or itself)")
	fs.StringVar(&k.Label, "cluster-label", "", "`LABEL` every node of this cluster shares; nodes of another label are refused")
	fs.IntVar(&k.ExpectNodes, "expect-nodes", 1, "wait for `N` nodes before burst 1")
	fs.DurationVar(&k.JoinTimeout, "join-timeout", 0, "bound on joining, waiting for --expect-nodes nodes and the start-up handshake (default 1m)")
	fs.StringVar(&k.NATSCluster, "nats-cluster", "", "route listener `HOST:PORT` of the embedded NATS server: the nodes' servers form one NATS cluster")
	fs.StringVar(&k.Placement, "placement", "", "place areas as `FILE` says (a map from area ID to node name) instead of computing it")
	fs.Float64Var(&k.Capacity, "capacity", 1, "this node's relative share of the areas")
	fs.IntVar(&k.Window, "lockstep-window", 0, fmt.Sprintf("bursts the coordinator may tick ahead of the last one every node completed, `W` (1: a strict barrier; default %d; the same on every node)", brain.DefaultLockstepWindow))
	fs.DurationVar(&k.FailureTimeout, "failure-timeout", brain.DefaultFailureTimeout, "a dead, hung or unreachable node is noticed within about `D`; its areas are restored on the others from the last checkpoint")
}

// registerCheckpointFlags adds node run's checkpoint flags to fs.
func registerCheckpointFlags(fs *flag.FlagSet, c *brain.Config) {
	fs.Func("checkpoint-every", fmt.Sprintf("in cluster mode, checkpoint the whole brain every `K` bursts, kept on every node so that any node may die (0: never; default %d)", brain.DefaultCheckpointEvery), func(v string) error {
		k, err := strconv.ParseInt(v, 10, 64)
		if err != nil || k < 0 {
			return fmt.Errorf("want a number of bursts, 0 or more")
		}
		c.CheckpointEvery = k
		if k == 0 {
			c.CheckpointEvery = -1
		}
		return nil
	})
}

// registerBenchRunFlags adds the flags node bench's cluster workload gives
// node run.
func registerBenchRunFlags(fs *flag.FlagSet, c *brain.Config) {
	fs.StringVar(&c.Synthetic, "synthetic", "", "run the scale-out benchmark's synthetic brain `K,N,F` instead of a genome: K areas, N neurons in all, F synapses per neuron")
	fs.StringVar(&c.SummaryJSON, "summary-json", "", "write the run's summary to `FILE` as one JSON object")
}
