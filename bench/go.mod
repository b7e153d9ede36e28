module github.com/ringhttpd/ringhttpd/bench

go 1.26.8

require (
	github.com/ringhttpd/ringhttpd v0.0.0-00010101000000-000000000000
	github.com/valyala/fasthttp v1.69.0
)

require (
	github.com/andybalholm/brotli v1.3.0 // indirect
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

replace github.com/ringhttpd/ringhttpd => ../
