package actors

// NodeID names a node (a process running part of a brain).
type NodeID string

// LocalNode is the node name used when a brain runs in one process.
const LocalNode NodeID = "local"

// Placement maps an area index to the node that runs it. The runtime spawns
// the areas placed on its own node, delivers spikes between two of them in
// process and sends spikes to or from any other area over NATS. Every node
// of a brain must use the same placement.
type Placement interface {
	Node(area int) NodeID
}

// SingleNode places every area on one node.
type SingleNode NodeID

// Node returns the single node.
func (s SingleNode) Node(int) NodeID { return NodeID(s) }

// Table places area i on Table[i].
type Table []NodeID

// Node returns the node of area i.
func (t Table) Node(i int) NodeID { return t[i] }
