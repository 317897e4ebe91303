package web

import (
	_ "embed"
	"net/http"
)

// livePage is the live view: one self-contained HTML file (no external
// scripts, styles or fonts) that polls the JSON API.
//
//go:embed static/live.html
var livePage []byte

func servePage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(livePage)
}
