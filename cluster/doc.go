// Package cluster spreads one brain over several processes: it knows which
// nodes are alive (membership) and decides which node runs which cortical
// area (placement). It does no messaging of its own beyond memberlist's
// gossip; the runtime builds the lock step over NATS on top of it.
//
// # Placement
//
// Place is a pure function from the areas' weights (neurons plus synapses),
// the live nodes (name and relative capacity) and, optionally, the placement
// in force, to an owner per area. Every node computes the same answer: the
// result does not depend on the order the nodes are listed in, ties go to
// the lower node name and area index, and the arithmetic is on integers.
//
// Balance: a node's share is the total weight times its capacity over the
// total capacity. No node carries more than Balance (1.25) times its share
// unless areas are too coarse for better, that is unless every area on it
// would leave any other node at least as loaded, relative to capacity, as
// the node is now. When every area weighs at most a quarter of every node's
// share, no node is above the bound at all.
//
// Few moves: given the placement in force, areas on surviving nodes stay
// where they are unless the balance needs them elsewhere. The areas of a
// departed node (and new areas) are spread first, heaviest first, each onto
// the node where it leaves the lowest relative load; then areas are moved
// one at a time off the most loaded node above the bound, the lightest that
// brings it back within the bound preferred, to nodes that stay within it.
// A node that joins therefore receives just enough areas to bring the others
// within the bound, and with areas small next to the shares a departure
// moves the departed node's areas and nothing else. Moves lists the
// hand-offs between two placements.
//
// ParsePlacementFile reads a forced placement (a YAML or JSON map from area
// ID to node name) so that tests can try placements of their choosing.
//
// # Membership
//
// Start runs hashicorp/memberlist (SWIM gossip over TCP and UDP) for one
// node. Each node publishes a Meta: its NATS client and route URLs, its HTTP
// address, its capacity and a Digest of what every node of one brain must
// agree on (the genome's SHA-256, the seed, the precision, the burst limit).
//
// Nodes may start in any order: Start retries its seeds (Config.Join) until
// Config.JoinTimeout, and skips seeds that are the node itself, so every node
// of a StatefulSet can be given the same list. A node with no other seed is
// the first of its cluster.
//
// Start fails, naming the seed and the cause, when
//   - a seed's cluster runs another brain: its Digest differs, and the error
//     names each field that does (ErrDifferentBrain; no retry). The seed
//     refuses the newcomer as well, and every node keeps refusing gossip
//     about a node whose Digest differs;
//   - a live member already has this node's name (ErrNameTaken);
//   - a seed answers but drops our traffic because its cluster label is not
//     ours (ErrLabelDiffers). memberlist itself only logs this on the seed's
//     side, so Start finds out with a memberlist stream ping of its own: a
//     seed that accepts the connection and closes it without a word has
//     another label;
//   - a seed cannot be reached (ErrNoAnswer).
//
// Members lists the live members sorted by name, WaitFor waits until there
// are enough of them, and Events reports joins, departures (left, or found
// dead by memberlist's failure detector) and metadata updates through an
// unbounded queue, so memberlist never waits for the reader. memberlist's
// log goes to the configured slog.Logger at matching levels.
package cluster
