//go:build linux && race

package server

// skRace reports a -race build: RSS then includes the race detector's
// shadow memory, which is never returned, so the tests check the Go heap
// instead and only log RSS.
const skRace = true
