package h2

import "encoding/binary"

// This file is the frame codec (RFC 9113 §4, §6): pure encoding and decoding
// on byte slices. It knows nothing of streams or connections; conn.go decides
// what a frame means.

// frameHeaderLen is the size of a frame header (RFC 9113 §4.1).
const frameHeaderLen = 9

// Preface is what a client sends first (RFC 9113 §3.4), before its SETTINGS.
const Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// FrameType is a frame's type octet.
type FrameType uint8

// The frame types of RFC 9113 §6.
const (
	FrameData         FrameType = 0x0
	FrameHeaders      FrameType = 0x1
	FramePriority     FrameType = 0x2
	FrameRSTStream    FrameType = 0x3
	FrameSettings     FrameType = 0x4
	FramePushPromise  FrameType = 0x5
	FramePing         FrameType = 0x6
	FrameGoAway       FrameType = 0x7
	FrameWindowUpdate FrameType = 0x8
	FrameContinuation FrameType = 0x9

	frameTypeCount = 10
)

// Frame flags. Each is meaningful only on the frame types named.
const (
	flagEndStream  = 0x1  // DATA, HEADERS
	flagAck        = 0x1  // SETTINGS, PING
	flagEndHeaders = 0x4  // HEADERS, PUSH_PROMISE, CONTINUATION
	flagPadded     = 0x8  // DATA, HEADERS, PUSH_PROMISE
	flagPriority   = 0x20 // HEADERS
)

// ErrCode is an error code of RST_STREAM and GOAWAY (RFC 9113 §7).
type ErrCode uint32

// The error codes of RFC 9113 §7.
const (
	ErrCodeNo                 ErrCode = 0x0
	ErrCodeProtocol           ErrCode = 0x1
	ErrCodeInternal           ErrCode = 0x2
	ErrCodeFlowControl        ErrCode = 0x3
	ErrCodeSettingsTimeout    ErrCode = 0x4
	ErrCodeStreamClosed       ErrCode = 0x5
	ErrCodeFrameSize          ErrCode = 0x6
	ErrCodeRefusedStream      ErrCode = 0x7
	ErrCodeCancel             ErrCode = 0x8
	ErrCodeCompression        ErrCode = 0x9
	ErrCodeConnect            ErrCode = 0xa
	ErrCodeEnhanceYourCalm    ErrCode = 0xb
	ErrCodeInadequateSecurity ErrCode = 0xc
	ErrCodeHTTP11Required     ErrCode = 0xd
)

var errCodeNames = [...]string{
	"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
	"SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM",
	"CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM",
	"INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
}

// String returns the code's name from RFC 9113 §7, or "ERR_0x.." for others.
func (e ErrCode) String() string {
	if int(e) < len(errCodeNames) {
		return errCodeNames[e]
	}
	const hex = "0123456789abcdef"
	b := []byte("ERR_0x00000000")
	for i := 0; i < 8; i++ {
		b[len(b)-1-i] = hex[(e>>(4*i))&0xf]
	}
	return string(b)
}

// SettingID identifies a SETTINGS parameter (RFC 9113 §6.5.2, RFC 9218 §2.1).
type SettingID uint16

// The settings a server reads or sends.
const (
	SettingHeaderTableSize       SettingID = 0x1
	SettingEnablePush            SettingID = 0x2
	SettingMaxConcurrentStreams  SettingID = 0x3
	SettingInitialWindowSize     SettingID = 0x4
	SettingMaxFrameSize          SettingID = 0x5
	SettingMaxHeaderListSize     SettingID = 0x6
	SettingEnableConnectProtocol SettingID = 0x8
	SettingNoRFC7540Priorities   SettingID = 0x9
)

// Protocol constants.
const (
	defaultWindow      = 65535 // initial window of streams and the connection
	maxWindow          = 1<<31 - 1
	minMaxFrameSize    = 1 << 14 // SETTINGS_MAX_FRAME_SIZE's default and floor
	maxMaxFrameSize    = 1<<24 - 1
	defaultHeaderTable = 4096
	maxStreamID        = 1<<31 - 1
	settingLen         = 6
	pingLen            = 8
	rstStreamLen       = 4
	windowUpdateLen    = 4
	priorityLen        = 5
	goAwayMinLen       = 8
)

// frameHeader is a decoded frame header. Invariant: StreamID has the
// reserved bit cleared (RFC 9113 §4.1: it is ignored on receipt).
type frameHeader struct {
	Length   uint32
	Type     FrameType
	Flags    uint8
	StreamID uint32
}

// has reports whether all bits of flag are set.
func (h frameHeader) has(flag uint8) bool { return h.Flags&flag == flag }

// parseFrameHeader decodes the 9-byte frame header at the start of b.
// The caller guarantees len(b) >= frameHeaderLen.
func parseFrameHeader(b []byte) frameHeader {
	_ = b[8]
	return frameHeader{
		Length:   uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]),
		Type:     FrameType(b[3]),
		Flags:    b[4],
		StreamID: binary.BigEndian.Uint32(b[5:]) & maxStreamID,
	}
}

// putFrameHeader encodes a frame header into b[:9]. Invariant: length fits
// in 24 bits and id in 31.
func putFrameHeader(b []byte, length int, typ FrameType, flags uint8, id uint32) {
	_ = b[8]
	b[0], b[1], b[2] = byte(length>>16), byte(length>>8), byte(length)
	b[3], b[4] = byte(typ), flags
	binary.BigEndian.PutUint32(b[5:], id&maxStreamID)
}

// appendFrameHeader appends a frame header to dst.
func appendFrameHeader(dst []byte, length int, typ FrameType, flags uint8, id uint32) []byte {
	var h [frameHeaderLen]byte
	putFrameHeader(h[:], length, typ, flags, id)
	return append(dst, h[:]...)
}

// Setting is one SETTINGS parameter.
type Setting struct {
	ID  SettingID
	Val uint32
}

// appendSettings appends a SETTINGS frame carrying s.
func appendSettings(dst []byte, s []Setting) []byte {
	dst = appendFrameHeader(dst, len(s)*settingLen, FrameSettings, 0, 0)
	for _, v := range s {
		dst = binary.BigEndian.AppendUint16(dst, uint16(v.ID))
		dst = binary.BigEndian.AppendUint32(dst, v.Val)
	}
	return dst
}

// appendSettingsAck appends an empty SETTINGS frame with ACK.
func appendSettingsAck(dst []byte) []byte {
	return appendFrameHeader(dst, 0, FrameSettings, flagAck, 0)
}

// setting returns the i-th parameter of a SETTINGS payload. The caller
// guarantees (i+1)*6 <= len(p).
func setting(p []byte, i int) Setting {
	b := p[i*settingLen:]
	return Setting{ID: SettingID(binary.BigEndian.Uint16(b)), Val: binary.BigEndian.Uint32(b[2:])}
}

// appendPing appends a PING frame with the 8 bytes of data.
func appendPing(dst []byte, ack bool, data []byte) []byte {
	var f uint8
	if ack {
		f = flagAck
	}
	dst = appendFrameHeader(dst, pingLen, FramePing, f, 0)
	return append(dst, data[:pingLen]...)
}

// appendGoAway appends a GOAWAY frame.
func appendGoAway(dst []byte, lastID uint32, code ErrCode, debug string) []byte {
	dst = appendFrameHeader(dst, goAwayMinLen+len(debug), FrameGoAway, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, lastID&maxStreamID)
	dst = binary.BigEndian.AppendUint32(dst, uint32(code))
	return append(dst, debug...)
}

// appendRSTStream appends a RST_STREAM frame.
func appendRSTStream(dst []byte, id uint32, code ErrCode) []byte {
	dst = appendFrameHeader(dst, rstStreamLen, FrameRSTStream, 0, id)
	return binary.BigEndian.AppendUint32(dst, uint32(code))
}

// appendWindowUpdate appends a WINDOW_UPDATE frame. Invariant: 0 < incr <= 2^31-1.
func appendWindowUpdate(dst []byte, id uint32, incr uint32) []byte {
	dst = appendFrameHeader(dst, windowUpdateLen, FrameWindowUpdate, 0, id)
	return binary.BigEndian.AppendUint32(dst, incr&maxWindow)
}

// u31 reads a 31-bit value (the reserved bit cleared) from b[:4].
func u31(b []byte) uint32 { return binary.BigEndian.Uint32(b) & maxStreamID }

// unpad strips the padding of a DATA or HEADERS payload p (RFC 9113 §6.1):
// with flagPadded the first octet is the pad length and that many octets end
// the payload. ok is false when the padding does not fit (a connection error
// of type PROTOCOL_ERROR).
func unpad(flags uint8, p []byte) (body []byte, ok bool) {
	if flags&flagPadded == 0 {
		return p, true
	}
	if len(p) == 0 {
		return nil, false
	}
	pad := int(p[0])
	if pad >= len(p) {
		return nil, false
	}
	return p[1 : len(p)-pad], true
}

// priorityField is the dependency and weight of a PRIORITY frame or of a
// HEADERS frame with flagPriority (RFC 9113 §5.3.2, deprecated; validated
// and otherwise ignored).
type priorityField struct {
	Dep       uint32
	Exclusive bool
	Weight    uint8
}

// parsePriority decodes 5 bytes of priority information.
func parsePriority(b []byte) priorityField {
	v := binary.BigEndian.Uint32(b)
	return priorityField{Dep: v & maxStreamID, Exclusive: v>>31 == 1, Weight: b[4]}
}
