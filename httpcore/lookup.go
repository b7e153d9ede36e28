package httpcore

// ValidHost reports whether h is a valid Host value or authority (RFC 9110
// §7.2, RFC 3986 §3.2.2): reg-name, IPv4 or IP-literal, optional ":" port.
// An empty h is valid. HTTP/2 checks :authority through it.
func ValidHost(h []byte) bool { return validHost(h) }
