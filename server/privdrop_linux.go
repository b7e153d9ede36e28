package server

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// LookupCredentials resolves a user and an optional group (names or
// numeric ids). Without a group, the user's primary group is used; the
// supplementary groups are the user's groups (as initgroups(3) would set
// them) plus that group.
func LookupCredentials(userName, groupName string) (Credentials, error) {
	var cr Credentials
	u, err := user.Lookup(userName)
	if err != nil {
		if _, nerr := strconv.Atoi(userName); nerr == nil {
			u, err = user.LookupId(userName)
		}
	}
	if err != nil {
		return cr, fmt.Errorf("%w: user %q: %v", ErrBadConfig, userName, err)
	}
	cr.Name = u.Username
	if cr.UID, err = strconv.Atoi(u.Uid); err != nil {
		return cr, fmt.Errorf("%w: user %q: uid %q", ErrBadConfig, userName, u.Uid)
	}
	gid := u.Gid
	if groupName != "" {
		g, err := user.LookupGroup(groupName)
		if err != nil {
			if _, nerr := strconv.Atoi(groupName); nerr == nil {
				g, err = user.LookupGroupId(groupName)
			}
		}
		if err != nil {
			return cr, fmt.Errorf("%w: group %q: %v", ErrBadConfig, groupName, err)
		}
		gid = g.Gid
	}
	if cr.GID, err = strconv.Atoi(gid); err != nil {
		return cr, fmt.Errorf("%w: gid %q", ErrBadConfig, gid)
	}
	cr.Groups = []int{cr.GID}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.Atoi(s); err == nil && g != cr.GID {
				cr.Groups = append(cr.Groups, g)
			}
		}
	}
	return cr, nil
}

// DropPrivileges switches every thread of the process to cr: supplementary
// groups, then gid, then uid (Go's syscall.Setgroups, Setgid and Setuid act
// on all threads since Go 1.16, and threads created later inherit). It
// then checks that uid 0 cannot be regained. Call it after everything that
// needs privileges is open (listeners, root, logs, keys) and before the
// workers start: io_uring operations, including those io-wq runs, carry the
// credentials of the thread that submits them, so they run as cr too. A
// process already running as cr does nothing (a child started by an
// upgrade).
func DropPrivileges(cr Credentials) error {
	if os.Getuid() == cr.UID && os.Geteuid() == cr.UID && os.Getgid() == cr.GID && os.Getegid() == cr.GID {
		return nil
	}
	if err := syscall.Setgroups(cr.Groups); err != nil {
		return fmt.Errorf("server: dropping privileges: %w", os.NewSyscallError("setgroups", err))
	}
	if err := syscall.Setgid(cr.GID); err != nil {
		return fmt.Errorf("server: dropping privileges: %w", os.NewSyscallError("setgid", err))
	}
	if err := syscall.Setuid(cr.UID); err != nil {
		return fmt.Errorf("server: dropping privileges: %w", os.NewSyscallError("setuid", err))
	}
	if cr.UID != 0 {
		if err := syscall.Setuid(0); err == nil {
			return fmt.Errorf("server: dropping privileges: uid 0 could be regained")
		}
	}
	return nil
}
