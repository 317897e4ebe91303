package web_test

import (
	"context"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chromium finds Debian's chromium; the test fails without it (CI installs
// it with make tools).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found: the live view's test needs a headless browser; install it with `apt-get install chromium` (make tools does)")
	return ""
}

// render loads url in a fresh headless chromium and returns the DOM after
// the page has run for budget of virtual time.
func render(t *testing.T, bin, url string, budget time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage",
		"--no-first-run", "--user-data-dir="+t.TempDir(),
		"--virtual-time-budget="+strconv.Itoa(int(budget.Milliseconds())), "--dump-dom", url)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom %s: %v\n%s", url, err, stderr.String())
	}
	return string(out)
}

var burstRE = regexp.MustCompile(`id="burst">(\d+)<`)

func renderedBurst(t *testing.T, dom string) uint64 {
	t.Helper()
	m := burstRE.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no burst counter in the rendered page:\n%.3000s", dom)
	}
	b, _ := strconv.ParseUint(m[1], 10, 64)
	return b
}

// TestLiveViewInBrowser loads the live view from a running node in a real
// headless browser, twice, and checks that it shows the areas by name and
// a burst counter that advances.
func TestLiveViewInBrowser(t *testing.T) {
	bin := chromium(t)
	n := startNode(t, nil)
	n.waitReady()

	code, h, page := n.do(http.MethodGet, "/", "")
	if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", code, h.Get("Content-Type"))
	}
	if strings.Contains(string(page), "http://") || strings.Contains(string(page), "https://") {
		t.Fatal("the live view refers to another site; it must be self-contained")
	}

	dom1 := render(t, bin, n.base+"/", 2*time.Second)
	b1 := renderedBurst(t, dom1)
	var areas struct {
		Areas []struct{ Name string }
	}
	n.getJSON("/v1/areas", http.StatusOK, &areas)
	for _, a := range areas.Areas {
		if !strings.Contains(dom1, `<div class="name">`+a.Name+`</div>`) {
			t.Errorf("area %q not shown in the rendered page", a.Name)
		}
	}
	if !strings.Contains(dom1, `id="genome">`+testGenome+`<`) || !strings.Contains(dom1, `id="state">running<`) {
		t.Errorf("genome or state not shown:\n%.2000s", dom1)
	}
	if strings.Contains(dom1, `<div id="error"></div>`) == false {
		t.Errorf("the page shows an error:\n%.2000s", dom1)
	}
	if strings.Count(dom1, "<canvas") != len(areas.Areas) {
		t.Errorf("%d grids for %d areas", strings.Count(dom1, "<canvas"), len(areas.Areas))
	}
	n.waitBurst(b1 + 10)
	b2 := renderedBurst(t, render(t, bin, n.base+"/", 2*time.Second))
	if b1 == 0 || b2 <= b1 {
		t.Fatalf("the rendered burst counter did not advance: %d, then %d", b1, b2)
	}
}
