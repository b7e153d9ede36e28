package files

import (
	"time"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// The httpcore helpers files uses, under short local names.

func appendStatusLine(dst []byte, status int) []byte { return httpcore.AppendStatusLine(dst, status) }

func appendHTTPDate(dst []byte, t time.Time) []byte { return httpcore.AppendHTTPDate(dst, t) }

func parseHTTPDate(b []byte) (time.Time, bool) { return httpcore.ParseHTTPDate(b) }

func appendUint(dst []byte, v uint64) []byte { return httpcore.AppendUint(dst, v) }

// writeError fills resp with httpcore's small text answer for status (405
// carries Allow; 400 closes the connection).
func writeError(resp *httpcore.Response, status int) { httpcore.WriteError(resp, status) }

// IgnoresBodies reports that the handler never reads request bodies
// (httpcore.BodyIgnorer): a request with one is answered 405 from its head
// and the engine discards the body instead of buffering it.
func (h *Handler) IgnoresBodies() bool { return true }
