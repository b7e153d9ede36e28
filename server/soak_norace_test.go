//go:build linux && !race

package server

// skRace reports a -race build (see soak_race_test.go).
const skRace = false
