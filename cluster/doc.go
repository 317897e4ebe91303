// Package cluster will own membership (hashicorp/memberlist), the placement
// of cortical areas over nodes, checkpoints, hand-off and recovery. Today
// every area runs on one node; the runtime (actors) already routes spikes
// through a placement table so that splitting areas over nodes changes where
// they run and nothing else.
package cluster
