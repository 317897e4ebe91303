package cortical_test

import (
	"fmt"

	"github.com/spikemesh/spikemesh/cortical"
	"github.com/spikemesh/spikemesh/genomes"
)

func ExampleLoad() {
	data, _ := genomes.Read("essential_genome.json")
	seed := uint64(1)
	plan, err := cortical.Load(data, "essential_genome.json", cortical.Options{Seed: &seed})
	if err != nil {
		fmt.Println(err)
		return
	}
	areas, neurons, synapses := plan.Totals()
	fmt.Println(areas, neurons, synapses)
	i, _ := plan.AreaIndex("iic400")
	a := plan.Areas[i]
	fmt.Println(a.ID, a.Name, a.Dims, a.FirstID)
	// Output:
	// 26 55359 1552
	// aXN2aQkABAA= vision_C [128 128 3] 3087
}

func ExampleLoad_errors() {
	_, err := cortical.Load([]byte(`{"version":"2.1","blueprint":{"c__lef":{"firing_threshold":"abc","block_boundaries":[0,1,1]}}}`),
		"bad.json", cortical.Options{})
	fmt.Println(err)
	// Output:
	// cortical: genome bad.json: 2 problems:
	//   blueprint.c__lef.block_boundaries[0]: impossible dimension 0: want an integer of at least 1
	//   blueprint.c__lef.firing_threshold: want a number, got "abc"
}
