//go:build !unix

package daemon

// descriptorLimit is unknown here: the configured cap stands.
func descriptorLimit() (uint64, bool) { return 0, false }
