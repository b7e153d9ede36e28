package h2

import (
	"time"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// Config is what a Conn advertises and enforces. A zero field takes its
// default; Init copies the Config, so changing it later affects only
// connections initialised later.
type Config struct {
	// MaxConcurrentStreams is SETTINGS_MAX_CONCURRENT_STREAMS: streams the
	// peer may have open at once. Default 128.
	MaxConcurrentStreams uint32
	// InitialWindowSize is SETTINGS_INITIAL_WINDOW_SIZE: the receive window
	// of each stream (request bodies). Default 65535; at most 2^31-1.
	InitialWindowSize uint32
	// ConnWindowSize is the connection's receive window, raised by a
	// WINDOW_UPDATE right after the server's SETTINGS. Default 1 MiB; at
	// least 65535.
	ConnWindowSize uint32
	// DataFrameSize, when non-zero, bounds the payload of the DATA frames
	// the server sends below the peer's SETTINGS_MAX_FRAME_SIZE: over TLS,
	// 16375 (a record's 16384 less the frame head) makes every frame,
	// head included, one record.
	DataFrameSize uint32
	// MaxFrameSize is SETTINGS_MAX_FRAME_SIZE: the largest frame payload
	// the server accepts. Default 16384; between 16384 and 2^24-1. The
	// engine's input buffer must hold FrameBytes(cfg) bytes: Feed consumes
	// whole frames only.
	MaxFrameSize uint32
	// Limits bounds requests as for HTTP/1.1: MaxRequestLine bounds :path
	// (414), MaxHeaderBytes the decoded field section (431, counted as
	// name + value + 4 per field like an HTTP/1.1 line), MaxHeaders the
	// number of fields (431), MaxBody a request body (413).
	Limits httpcore.Limits
	// MaxBodyBuffer bounds the request body bytes buffered across all
	// streams of the connection; a stream whose DATA would exceed it is
	// refused (RST_STREAM REFUSED_STREAM, safe to retry). Default
	// 4 x Limits.MaxBody.
	MaxBodyBuffer int64

	// Attack budgets (see doc.go, "Defenses").

	// MaxNewStreamsPerFeed caps the streams one Feed call may open; those
	// beyond are refused (REFUSED_STREAM). Default MaxConcurrentStreams.
	MaxNewStreamsPerFeed int
	// ResetBudget is how many streams may end in a reset caused by the
	// peer (its RST_STREAM on a live stream, or a stream error the server
	// sends because of what the peer sent) before the connection is closed
	// with GOAWAY ENHANCE_YOUR_CALM. Each stream that completes normally
	// gives one back, up to ResetBudget, and time refills it (see
	// BudgetRefill). Default 2 x MaxConcurrentStreams, at least 64.
	ResetBudget int
	// JunkBudget is how many frames that do no work (PING, SETTINGS,
	// PRIORITY, unknown types, empty DATA or header fragments that end
	// nothing, frames for streams already reset) the peer may send before
	// GOAWAY ENHANCE_YOUR_CALM. Each completed stream gives back
	// JunkBudget/64 (at least 1), and time refills it (see BudgetRefill).
	// Default 1000.
	JunkBudget int
	// BudgetRefill is how long it takes the reset and junk budgets to
	// refill completely with time alone, pro rata by whole seconds, as the
	// server reports time with Conn.Tick: a long-lived connection that
	// completes few streams (a long download, a client's keep-alive
	// PINGs) never runs dry at a normal pace, while a flood still spends
	// a budget in far less time than it takes to refill. Default 1 minute;
	// at least 1 second.
	BudgetRefill time.Duration
	// MaxControlBytes bounds control frames (SETTINGS and PING ACKs,
	// RST_STREAM, WINDOW_UPDATE) queued in the Conn and not yet handed to a
	// Sink because the Sink is over its budget (a peer that does not
	// read). Beyond it: GOAWAY ENHANCE_YOUR_CALM. Default 64 KiB.
	MaxControlBytes int
}

// Defaults.
const (
	DefaultMaxConcurrentStreams = 128
	DefaultInitialWindowSize    = defaultWindow
	DefaultConnWindowSize       = 1 << 20
	DefaultMaxFrameSize         = minMaxFrameSize
	DefaultJunkBudget           = 1000
	DefaultMaxControlBytes      = 64 << 10
	DefaultBudgetRefill         = time.Minute

	minResetBudget = 64
)

// withDefaults returns cfg with zero fields defaulted and all fields clamped
// to what the protocol allows.
func (cfg Config) withDefaults() Config {
	if cfg.MaxConcurrentStreams == 0 {
		cfg.MaxConcurrentStreams = DefaultMaxConcurrentStreams
	}
	if cfg.InitialWindowSize == 0 {
		cfg.InitialWindowSize = DefaultInitialWindowSize
	}
	cfg.InitialWindowSize = min(cfg.InitialWindowSize, maxWindow)
	if cfg.ConnWindowSize < defaultWindow {
		if cfg.ConnWindowSize == 0 {
			cfg.ConnWindowSize = DefaultConnWindowSize
		} else {
			cfg.ConnWindowSize = defaultWindow
		}
	}
	cfg.ConnWindowSize = min(cfg.ConnWindowSize, maxWindow)
	if cfg.MaxFrameSize == 0 {
		cfg.MaxFrameSize = DefaultMaxFrameSize
	}
	cfg.MaxFrameSize = max(min(cfg.MaxFrameSize, maxMaxFrameSize), minMaxFrameSize)
	l := &cfg.Limits
	d := httpcore.DefaultLimits()
	if l.MaxRequestLine <= 0 {
		l.MaxRequestLine = d.MaxRequestLine
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = d.MaxHeaders
	}
	if l.MaxBody <= 0 {
		l.MaxBody = d.MaxBody
	}
	l.MaxHeaderBytes = min(l.MaxHeaderBytes, 1<<24)
	l.MaxRequestLine = min(l.MaxRequestLine, 1<<24)
	if cfg.MaxBodyBuffer <= 0 {
		cfg.MaxBodyBuffer = 4 * l.MaxBody
	}
	if cfg.MaxNewStreamsPerFeed <= 0 {
		cfg.MaxNewStreamsPerFeed = int(cfg.MaxConcurrentStreams)
	}
	if cfg.ResetBudget <= 0 {
		cfg.ResetBudget = max(2*int(cfg.MaxConcurrentStreams), minResetBudget)
	}
	if cfg.JunkBudget <= 0 {
		cfg.JunkBudget = DefaultJunkBudget
	}
	if cfg.MaxControlBytes <= 0 {
		cfg.MaxControlBytes = DefaultMaxControlBytes
	}
	if cfg.BudgetRefill <= 0 {
		cfg.BudgetRefill = DefaultBudgetRefill
	}
	cfg.BudgetRefill = max(cfg.BudgetRefill, time.Second)
	return cfg
}

// FrameBytes returns the most bytes one frame can span in Feed's input
// (header included) under cfg: the engine's input buffer must hold at least
// this many, and it never has to hold more to make progress.
func FrameBytes(cfg *Config) int {
	c := cfg.withDefaults()
	return frameHeaderLen + int(c.MaxFrameSize)
}

// maxHeaderWire bounds the encoded bytes (frame headers and padding
// included) of one field block across HEADERS and CONTINUATION frames. A
// peer beyond it is flooding (CVE-2024-27316 family): GOAWAY
// ENHANCE_YOUR_CALM. Huffman coding can make a field up to ~3.75 times its
// decoded size, hence the factor.
func (cfg *Config) maxHeaderWire() int {
	return 4*cfg.Limits.MaxHeaderBytes + cfg.Limits.MaxRequestLine + 4096
}
