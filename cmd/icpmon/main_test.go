package main

import (
	"strings"
	"testing"
)

// --help prints the help of the command it follows, once, and exits 0, even
// where the command has required flags or arguments.
func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{
		{"--help"},
		{"track", "add", "--help"},
		{"track", "add", "-h"},
		{"bizdays", "add", "--help"},
		{"bizdays", "add", "2027-02-04", "--help"},
	} {
		r := icpmon(t, args...)
		if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "usage: icpmon") || strings.Count(r.stdout, "usage: ") != 1 {
			t.Errorf("icpmon %s: exit %d, stderr %q, stdout %.80q", strings.Join(args, " "), r.code, r.stderr, r.stdout)
		}
	}
	if r := icpmon(t, "track", "add", "--help"); !strings.Contains(r.stdout, "--licence=LICENCE") {
		t.Errorf("track add --help does not describe its flags:\n%s", r.stdout)
	}
	// Without --help the missing flags are still an error.
	if r := icpmon(t, "track", "add"); r.code != 2 || !strings.Contains(r.stderr, "required flag") {
		t.Errorf("track add without flags: exit %d, stderr %q", r.code, r.stderr)
	}
}
