//go:build !linux

package uring

import "time"

// Ring is an io_uring instance. On this platform every constructor fails with an error wrapping
// errors.ErrUnsupported: io_uring exists only on Linux.
type Ring struct{}

var errNotLinux = ErrUnsupported

// TrySetup reports that io_uring is unavailable on this platform.
func TrySetup(entries, flags uint32) (Params, error) { return Params{}, errNotLinux }

// NewRing reports that io_uring is unavailable on this platform.
func NewRing(entries uint32, p *Params) (*Ring, error) { return nil, errNotLinux }

// NewRingBest reports that io_uring is unavailable on this platform.
func NewRingBest(entries uint32, p *Params) (*Ring, uint32, error) { return nil, 0, errNotLinux }

// GetProbe reports that io_uring is unavailable on this platform.
func GetProbe() (*Probe, error) { return nil, errNotLinux }

// MapMemory reports that this package maps no memory on this platform.
func MapMemory(n int) ([]byte, error) { return nil, errNotLinux }

// UnmapMemory reports that this package maps no memory on this platform.
func UnmapMemory(b []byte) error { return errNotLinux }

// Close does nothing on this platform.
func (r *Ring) Close() error { return nil }

// Probe reports that io_uring is unavailable on this platform.
func (r *Ring) Probe() (*Probe, error) { return nil, errNotLinux }

// Flags returns 0 on this platform.
func (r *Ring) Flags() uint32 { return 0 }

// Features returns 0 on this platform.
func (r *Ring) Features() uint32 { return 0 }

// SubmitAndWaitTimeout reports that io_uring is unavailable on this platform.
func (r *Ring) SubmitAndWaitTimeout(waitNr uint32, timeout time.Duration) (int, error) {
	return 0, errNotLinux
}
