//go:build unix

package daemon

import "syscall"

// descriptorLimit is the soft limit on open files (which Go's runtime has
// already raised to the hard limit).
func descriptorLimit() (uint64, bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, false
	}
	return uint64(rl.Cur), true // #nosec G115 -- int64 on some BSDs, never negative
}
