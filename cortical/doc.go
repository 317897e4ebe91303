// Package cortical turns a FEAGI genome into a brain plan.
//
// It owns the genome model and its parsing (flat 2.0/2.1/3.0 keys,
// hierarchical 2.1 and the simple blueprint.cortical_areas layout of the
// example genomes), cortical IDs and their legacy migrations, the morphology
// table, and neuroembryogenesis: growing the areas, neurons and synapses the
// genome wires, deterministically (docs/semantics.md §5 for the genome
// rules, §2.6 and §3 for what growth hands to the engine). The result, a
// Plan, is what the runtime places on nodes and hands to npu engines.
//
// Everything here is pure and synchronous: Load reads bytes and returns a
// value, with no goroutines, clock or global state; a Plan is read-only once
// returned and may be shared between goroutines. Every random choice of
// growth draws from a generator seeded by Options.Seed (default: derived
// from the genome's bytes), so the same genome and seed give the same plan,
// byte for byte (Plan.Digest).
//
// Terms. A cortical area is a 3-D block of voxels (W×H×D, x then y then z)
// with n neurons per voxel, identified by an 8-byte cortical ID (ID) and,
// in a plan, by its index: 0 ___death, 1 ___power, 2 ___fatig (the core
// areas), then the other areas in ascending ID byte order. Neuron ids are
// global: areas in index order, inside an area x, y, z, then the per-voxel
// copy. A mapping rule (cortical_mapping_dst) connects a source area to a
// destination area through a morphology: vectors (offsets), patterns (voxel
// templates with the wildcards *, ? and !) or a function chosen by id
// (projector, block_to_block, expander_x, reducer_x, randomizer,
// lateral_pairs_x, last_to_first). Synapses always reach the highest-index
// neuron of a destination voxel. A connection holds every synapse from one
// source area to one destination area, grouped by source neuron; its
// out-degree counts each source neuron's synapses over all connections.
//
// Limits. Before growing, Load sizes the brain from the genome alone
// (estimate.go): per rule, in closed form from the two areas' shapes and
// the morphology, the synapses it can create, the candidate pairs it will
// evaluate (its work) and the memory its synapses take in the plan and in
// the engines that run it. Counts are exact for most generators and upper
// bounds where pattern pairs overlap or a vectors rule repeats an earlier
// rule's pairs; under a synapse attractivity strictly between 0 and 100 the
// count is the mean plus six standard deviations. A genome whose totals pass
// Options.MaxNeurons, MaxSynapses, MaxMemory or MaxPairs is refused with a
// *LimitError naming the area or rule that crosses the limit, before any
// synapse is allocated. Growth then counts its work as it goes, reports
// progress, stops when its context is done (LoadContext) and never works
// past MaxPairs nor grows past MaxSynapses, whatever the estimate said. A
// rule of attractivity 0 keeps nothing and is not run at all. The plan is
// the same, bit for bit, for every genome within the limits.
//
// Errors. A genome that cannot be loaded gives a *LoadError listing every
// problem with the JSON path of the offending value. Flat genes are reported
// under the hierarchical property they set (blueprint.c__lef.firing_threshold
// for _____10c-c__lef-nx-fire_t-f). Load never panics and never returns a
// partial plan. What the loader decided on its own (percent normalization,
// added core areas, ID migrations) is listed in Plan.Warnings.
package cortical
