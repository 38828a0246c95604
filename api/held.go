package api

import (
	"bytes"
	"net/http"
)

// Held is a response kept in memory until it may be sent: once it is logged, or replaced by an
// error when it cannot be. Its zero value is not ready; use NewHeld.
type Held struct {
	header http.Header
	Status int
	Body   bytes.Buffer
}

// NewHeld returns an empty held response (status 200 until WriteHeader says otherwise).
func NewHeld() *Held { return &Held{header: http.Header{}, Status: http.StatusOK} }

func (h *Held) Header() http.Header         { return h.header }
func (h *Held) WriteHeader(status int)      { h.Status = status }
func (h *Held) Write(b []byte) (int, error) { return h.Body.Write(b) }

// SendHeaders copies the held headers and status to w; the body is the caller's to write.
func (h *Held) SendHeaders(w http.ResponseWriter) {
	for k, v := range h.header {
		w.Header()[k] = v
	}
	w.WriteHeader(h.Status)
}
