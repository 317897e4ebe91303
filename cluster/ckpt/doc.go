// Package ckpt holds what a cluster node keeps in memory so that the brain
// survives the loss of a node: the last few complete checkpoints of the
// whole brain, and the log of the sensory input since the oldest of them.
// It is pure logic: no network, no encoding, no goroutines, no clocks. The
// caller decodes messages into Parts, feeds them in, and publishes what
// comes out.
//
// # Checkpoints
//
// The nodes run the brain in lock step, burst by burst. Every few bursts,
// at the same burst boundary, every node serializes the state of each area
// it owns into an opaque blob (the engine's snapshot) and the coordinator
// serializes its own small state. A blob may be far larger than one network
// message, so it travels as Parts: a Part names the burst, the area (an
// area index >= 0, or Coordinator for the coordinator's blob), the offset
// of its bytes in the blob and the blob's total length. Split cuts a blob
// into parts; a Store reassembles them.
//
// A checkpoint of burst B is complete when the Store holds the whole blob
// of every area 0..areas-1 for B. The coordinator's blob is optional: it is
// kept when it arrives, before or after the areas complete, and Get reports
// it as nil while it is missing or partial. Blobs of the node's own areas
// enter through PutLocal, without being cut.
//
// Parts come from other processes and are checked: the area must exist,
// the bytes must lie inside the blob, the blob must not exceed
// Limits.MaxBlob, and every part of one blob must state the same total.
// Parts may arrive in any order and more than once (a node that missed a
// checkpoint asks another for it, see Store.Parts); bytes received twice
// must be equal. A part that contradicts what the Store holds is refused
// with an error naming the burst, the area and the first offset that
// differs, and leaves the Store as it was.
//
// # Bounded memory
//
// The Store keeps at most Limits.Keep complete checkpoints, the newest
// ones: a checkpoint that completes evicts the oldest complete ones beyond
// Keep. Parts of a burst older than the oldest complete checkpoint held are
// stale and ignored, and so are incomplete checkpoints that fall behind it.
// At most Limits.MaxPending incomplete checkpoints are tracked: when a part
// of a new burst arrives and the limit is reached, the oldest incomplete
// one is dropped (or the new part ignored, when its burst is older than all
// of them). A blob holds at most Limits.MaxBlob bytes and at most
// Limits.MaxSpans separate runs of received bytes, so the memory a Store
// holds is bounded by (Keep+MaxPending) · (areas+1) · (MaxBlob +
// 8·MaxSpans) bytes, whatever arrives (Store.Bytes reports the actual
// figure, Store.Bound the bound).
//
// # Rollback
//
// When a node dies the survivors restore its areas from the newest
// checkpoint they all hold and replay the brain from that burst. The run is
// deterministic, so complete checkpoints taken after that burst stay valid
// and are kept. Incomplete ones are not: the node that would have finished
// them is gone. Store.DropIncomplete forgets them; the caller must also stop
// accepting parts from the old placement (the messages carry a run/epoch
// number for that), otherwise late parts start new incomplete checkpoints.
//
// # Input log
//
// The coordinator fixes the sensory input of every burst that has any and
// sends it to every node, which keeps it in an InputLog: after a rollback
// to burst B the input of bursts B+1, B+2, … is replayed from the log, so
// the replayed run sees exactly the input of the original one. The log is
// pruned up to the oldest complete checkpoint kept and bounded in bytes;
// InputLog.Replayable says whether the input after a burst is still whole.
//
// Neither Store nor InputLog is safe for concurrent use; the caller
// serializes calls (one actor or one mutex).
package ckpt
