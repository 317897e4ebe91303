package cortical

import (
	"testing"

	"github.com/spikemesh/spikemesh/genomes"
)

// FuzzLoad feeds arbitrary bytes to Load: it must never panic, return
// either a plan or an error (never both, never neither), and any plan it
// returns must keep the plan invariants and be reproducible.
func FuzzLoad(f *testing.F) {
	for _, name := range genomes.Names() {
		data, err := genomes.Read(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	// Small genomes reach every format and morphology quickly.
	f.Add([]byte(`{"version":"2.1","blueprint":{"c__src":{"block_boundaries":[3,2,1],"per_voxel_neuron_cnt":2,` +
		`"cortical_mapping_dst":{"c__dst":[["projector",[1,1,1],1,false,1,1,1],["m",1,-2,true,1,2,3,4],` +
		`{"morphology_id":"p","postSynapticCurrent_multiplier":3,"plasticity_flag":false,"synapse_attractivity":50},` +
		`["randomizer",1,1,false,1,1,1],["expander_x",1,1,false,1,1,1],["reducer_x",1,1,false,1,1,1],` +
		`["lateral_pairs_x",1,1,false,1,1,1],["last_to_first",1,1,false,1,1,1]]}},` +
		`"c__dst":{"block_boundaries":[4,1,2],"neuron_excitability":50,"leak_coefficient":0.5}},` +
		`"neuron_morphologies":{"m":{"type":"vectors","parameters":{"vectors":[[1,0,0],[0,0,1]]}},` +
		`"p":{"type":"patterns","parameters":{"patterns":[[["*","?","!"],[1,"*","?"]]]}},` +
		`"randomizer":{"type":"functions"},"expander_x":{"type":"functions"},"reducer_x":{"type":"functions"},` +
		`"lateral_pairs_x":{"type":"functions"},"last_to_first":{"type":"functions"}}}`))
	f.Add([]byte(`{"version":"2.0","physiology":{"burst_delay":0.1,"quantization_precision":"fp16"},"blueprint":{` +
		`"_____10c-iic400-cx-___bbx-i":4,"_____10c-iic400-cx-dstmap-d":{"o__mot":[["block_to_block",[1,1,1],1,false,1,1,1]]},` +
		`"_____10c-o__mot-cx-___bbx-i":2,"_____10c-o__mot-nx-snooze-i":3,"_____10c-o__mot-nx-excite-f":100}}`))
	f.Add([]byte(`{"version":"2.0","blueprint":{"cortical_areas":{"a":{"cortical_id":"s1","dimensions":{"x":2,"y":2,"z":1},` +
		`"cortical_mapping_dstn":{"m1":{"cortical_mapping_type":"fully_connected","postsynaptic_current":5}}},` +
		`"b":{"cortical_id":"m1","dimensions":{"x":3,"y":1,"z":1},"morphology_id":"x"}}},` +
		`"morphologies":{"x":{"parameters":{"firing_threshold_starting_value":2,"consecutive_fire_cnt_max":9}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Small limits keep every input quick: work, not only size, is
		// bounded, so the fuzzer never stalls on one input.
		opts := Options{MaxNeurons: 1 << 16, MaxSynapses: 1 << 18, MaxPairs: 1 << 21, MaxMemory: 64 << 20}
		p, err := Load(data, "fuzz", opts)
		if (p == nil) == (err == nil) {
			t.Fatalf("plan %v and error %v", p != nil, err)
		}
		if err != nil {
			if _, ok := err.(*LoadError); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		checkInvariants(t, "fuzz", p)
		checkEstimate(t, "fuzz", p, false)
		q, err := Load(data, "fuzz", opts)
		if err != nil || q.Digest() != p.Digest() {
			t.Fatalf("second load differs: %v", err)
		}
	})
}
