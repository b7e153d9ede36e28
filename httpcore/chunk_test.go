package httpcore

import "strconv"

// Chunked transfer coding, encoded by the tests that feed chunked request
// bodies to the parser. Handlers never chunk: an answer is a complete plan
// (bytes or file ranges of known length), and a chunked body would reach an
// HTTP/2 client with its framing in the data.

// chunkedField is the field line of a response whose body is chunked (its
// length is unknown when the head goes out). Only HTTP/1.1 requests may get
// one: an HTTP/1.0 client gets the body delimited by the connection's close.
const chunkedField = "Transfer-Encoding: chunked\r\n"

// appendChunkHeader appends the chunk-size line for a chunk of n > 0 bytes:
// lower-case hex without leading zeros, then CRLF (RFC 9112 §7.1).
func appendChunkHeader(dst []byte, n int) []byte {
	dst = strconv.AppendUint(dst, uint64(n), 16)
	return append(dst, "\r\n"...)
}

// appendChunk appends data as one chunk: size line, data, CRLF. An empty
// data appends nothing (a zero-size chunk would end the body).
func appendChunk(dst, data []byte) []byte {
	if len(data) == 0 {
		return dst
	}
	dst = appendChunkHeader(dst, len(data))
	dst = append(dst, data...)
	return append(dst, "\r\n"...)
}

// appendChunkEnd appends the CRLF that closes a chunk whose data the caller
// sends separately (after appendChunkHeader).
func appendChunkEnd(dst []byte) []byte {
	return append(dst, "\r\n"...)
}

// appendLastChunk appends the last chunk and the empty trailer section that
// end a chunked body: "0\r\n\r\n".
func appendLastChunk(dst []byte) []byte {
	return append(dst, "0\r\n\r\n"...)
}
