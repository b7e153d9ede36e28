//go:build !linux

package server

// connIO is the engines' private state of one connection (none here).
type connIO struct{}
