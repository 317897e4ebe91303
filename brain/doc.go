// Package brain builds a brain from a validated Config and runs it burst by
// burst: it reads and grows the genome, wires the sensor intake (an --inputs
// schedule and NATS sensor frames), publishes motor frames, answers control
// requests, writes the spike record and prints progress and a summary.
//
// Two runners do the bursts behind one small interface: the actor runtime
// (package actors, one actor per cortical area, spikes in process or over
// NATS) and npu's single-process reference runner. Both feed the same
// observer, so their records can be compared byte for byte; that comparison
// (reference = actors = actors with every batch over NATS, for every
// shipped genome, fp32 and int8) is this package's defining test.
//
// cmd/node's `node run` is a thin layer over this package: flags become a
// Config, and Run does the rest. A node of a cluster calls Run the same way.
//
// The spike record (Config.Record) is one JSON line per burst. It is
// written whole lines at a time and flushed at least once a second, so a
// process killed without warning leaves a file of complete lines that lacks
// at most the last second of bursts (and, with Config.RecordSync, survives
// a crash of the machine to the same extent).
package brain
