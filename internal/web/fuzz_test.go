package web

import "testing"

// FuzzParseRate: any body gets a control request within the limits or an
// error, never a panic.
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{`{"hz": 50}`, `{"free": true}`, `{"hz": 0}`, `{"free": false}`, `{"hz": 1, "free": true}`,
		`{}`, `{"hz": 1e400}`, `{"hz": 5} x`, `{"hz": 5}{}`, `[]`, `null`, ``, `{"hz": -0.0}`, `{"hz": 0.001}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := ParseRate(body)
		if err != nil {
			if c != nil {
				t.Fatalf("%q: a request and an error", body)
			}
			return
		}
		sr := c.GetSetRate()
		if sr == nil {
			t.Fatalf("%q: accepted as %v", body, c)
		}
		if sr.GetFree() {
			if sr.GetHz() != 0 {
				t.Fatalf("%q: free with hz %v", body, sr.GetHz())
			}
			return
		}
		if hz := sr.GetHz(); !(hz >= MinRate && hz <= MaxRate) {
			t.Fatalf("%q: accepted hz %v", body, hz)
		}
	})
}
