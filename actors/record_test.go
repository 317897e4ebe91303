package actors

import (
	"encoding/json"
	"testing"
)

func TestAppendRecord(t *testing.T) {
	ids := []string{"X19fZGVhdGg=", "X19fcG93ZXI=", "X19fZmF0aWc=", "aWNfX2xlZl8="}
	got := string(AppendRecord(nil, 7, ids, [][]uint32{nil, {0}, {}, {1, 5, 40}}))
	want := `{"burst":7,"fired":{"X19fcG93ZXI=":[0],"aWNfX2xlZl8=":[1,5,40]}}` + "\n"
	if got != want {
		t.Fatalf("got %s want %s", got, want)
	}
	var v struct {
		Burst uint64
		Fired map[string][]uint32
	}
	if err := json.Unmarshal([]byte(got), &v); err != nil || v.Burst != 7 || len(v.Fired) != 2 {
		t.Fatalf("not valid JSON of the documented shape: %v %+v", err, v)
	}
	if got := string(AppendRecord(nil, 1, ids, make([][]uint32, 4))); got != `{"burst":1,"fired":{}}`+"\n" {
		t.Fatalf("empty burst: %s", got)
	}
}
