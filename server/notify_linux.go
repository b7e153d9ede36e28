package server

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// The service manager notification protocol (sd_notify(3)): datagrams of
// "KEY=value" lines on the unix socket named by $NOTIFY_SOCKET ('@' for the
// abstract namespace). Twenty lines of the standard library; no dependency
// is needed for it.

// Notify sends state (e.g. "READY=1") to the service manager. Without
// $NOTIFY_SOCKET it does nothing and returns nil.
func Notify(state string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	if path[0] != '/' && path[0] != '@' {
		return fmt.Errorf("server: NOTIFY_SOCKET %q: not a unix socket path", path)
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("server: sd_notify: %w", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("server: sd_notify: %w", err)
	}
	return nil
}

// NotifyReloading tells the service manager a reload started
// (Type=notify-reload wants RELOADING=1 with the CLOCK_MONOTONIC time, then
// READY=1 once done).
func NotifyReloading() error {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return os.NewSyscallError("clock_gettime", err)
	}
	usec := ts.Nano() / 1000
	return Notify("RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatInt(usec, 10))
}

// WatchdogInterval returns the interval the service manager expects
// WATCHDOG=1 within ($WATCHDOG_USEC), if the watchdog is on for this
// process ($WATCHDOG_PID, when set, must be ours).
func WatchdogInterval() (time.Duration, bool) {
	us, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || us <= 0 {
		return 0, false
	}
	if p := os.Getenv("WATCHDOG_PID"); p != "" && p != strconv.Itoa(os.Getpid()) {
		return 0, false
	}
	return time.Duration(us) * time.Microsecond, true
}
