// Package actors is spikemesh's runtime: it runs a grown brain (a
// cortical.Plan) burst by burst, one actor per cortical area, in lock step.
//
// # What it owns
//
// An Area actor wraps the npu.Engine of one cortical area. It gathers the
// spike batches its upstream areas fired in the previous burst, merges them
// in the engine's canonical order (Input.Fired parallel to Engine.Incoming,
// ascending source area index), adds the burst's sensory points, steps the
// engine, sends one batch (possibly empty) to every downstream area and
// reports completion. The Coordinator actor sends the tick of every burst,
// gathers the completions, hands the burst's result to an observer (the
// record, the status line) and paces the next tick to the burst rate, or
// sends it at once when running free. No neuron maths happens here: given
// the same plan and inputs the runtime produces the same spike trains as
// npu's single-process reference runner, bit for bit, wherever areas run.
//
// protoactor-go is used in this package and nowhere else; its Context and
// PID never leave it. Spikes between two areas placed on this node travel
// as in-process actor messages; to the areas of another node (or always,
// with Config.SpikesViaNATS) as one protobuf SpikeBatch per (source area,
// destination node) and burst on NATS subject
// <prefix>.<brain>.spikes.<node>, which the receiving node hands to each of
// its destination areas. Placement maps area index to node.
// ServeControl answers brainv1.Control requests (rate, pause, resume,
// stats) on <prefix>.<brain>.ctl and <prefix>.<brain>.ctl.<operator>, and
// logs every change with the operator's name; ServeStats answers
// statistics requests only, on <prefix>.<brain>.stats. Sensory input comes in through a Sensors
// (SensorFeed: a --inputs Schedule and live frames, both resolved by a
// pns.Intake), motor output goes out through a Motors.
//
// # One brain on several nodes
//
// Each node runs a Runtime with the same plan, placement, Config.Run and
// Config.Epoch and a Config.Cluster naming the nodes and the coordinator.
// The coordinator actor of every node is the node's burst agent. On the
// coordinator node it drives a lockstep.Machine (package cluster/lockstep)
// whose participants are the nodes: for each burst it fixes the sensory
// input (its Sensors), publishes a Tick with each node's share of it on
// <prefix>.<brain>.lockstep.tick.<node>, ticks its own areas, gathers one
// NodeDone per node (with how many neurons every area fired and, when the
// Tick asked for them, which: Config.WantFired) on .lockstep.done, hands
// the complete burst to its Observer, publishes it as a BurstRecord on
// .lockstep.burst for nodes that observe the whole brain, and paces; its
// next Tick tells every node the digests of the bursts completed since
// (Config.Completed). On the other nodes the coordinator actor ticks the
// local areas when the Tick arrives and reports their completion. A Tick
// may start several bursts and a NodeDone report several: with a window w
// of 4 or more, a follower whose next tick already waits holds completions
// back, up to w/2 per NodeDone.
// Inside one process the same machine has one participant and everything
// stays zero-copy. Before burst 1, Handshake proves that every node sees
// every other node's subscriptions (interest spreads between routed NATS
// servers asynchronously) and that all agree on the run, epoch and
// placement. Every message between nodes carries the run and the epoch; messages of another
// run or epoch, malformed ones and ones from unknown nodes or areas are
// ignored and counted (Runtime.Ignored), never fatal.
//
// # Message order
//
// An area runs burst n only when it holds both the Tick for burst n and
// exactly one SpikeBatch for burst n−1 from every upstream area (every
// connection into it; none for burst 1). Sensory points for burst n are
// fixed by the coordinator before it sends Tick n. After its step an area
// sends its batches, publishes motor output (OPU areas), then reports
// completion: it fills its own report slot (the in-process BurstCompleted)
// and counts down a shared counter; the area that brings it to zero sends
// the coordinator one message for the burst. The coordinator sends Tick n+w
// only after every area completed burst n, where w is Config.Window (1
// unless set; the lock step's window, package cluster/lockstep), and a
// node's areas start a burst only once all of them finished the one
// before: a tick that arrives early waits on the node. So an upstream area
// on another node may be up to w bursts ahead, and batches of w+1 bursts
// may be on their way to an area: n−1 (needed now) up to n−1+w. Batches are
// kept in w+1 slots by burst, so an early batch is buffered, never lost;
// between areas of one node at most two bursts are ever in flight. Batches from
// one source arrive in the order they were sent (actor mailboxes and a NATS
// connection are both FIFO per sender). Anyone who may publish on a spike
// subject could send a batch, so a batch that has no place is never a
// fault: a second batch for the same (source, burst), one outside the
// window of bursts kept, one from an area with no connection here, or one whose
// body does not decode or names neurons outside its source area is
// ignored and counted (Runtime.Ignored, by reason), and the real batch
// still counts when it comes. A batch that really is lost leaves its burst
// incomplete: a burst that does not complete within Config.StallTimeout is
// reported (ErrStalled) with the areas still pending and, for each, the
// missing batches with their source area and the node that should have
// sent them (ErrMissingBatch).
//
// # Goroutines
//
// Each area actor runs on protoactor's default dispatcher (a goroutine per
// mailbox wake-up), except areas smaller than Config.InlineWork, which run
// on the goroutine of the sender (protoactor's synchronized dispatcher):
// for tiny areas a goroutine hand-off costs more than the step. The
// coordinator keeps one goroutine of its own. No actor ever blocks waiting
// for another; waiting is only ever for a message.
//
// # Failure policy
//
// A panic or error inside an area (engine step, sensor or motor hook, NATS
// publish) stops the run with an error naming the area and burst; actors
// are never restarted, since a restarted area would have lost its state.
// A NATS slow-consumer drop is counted and stops the run the same way.
// Cancelling Run's context finishes the current burst, delivers it to the
// observer and returns nil.
package actors
