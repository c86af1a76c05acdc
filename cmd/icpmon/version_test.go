package main

import (
	"runtime/debug"
	"testing"
)

// A binary not built by the Makefile reports what the Go toolchain recorded.
func TestModuleVersion(t *testing.T) {
	setting := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	const commit = "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		name     string
		info     debug.BuildInfo
		ver, rev string
	}{
		{"go install …@v1.4.0", debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "v1.4.0", ""},
		{"go install …@commit", debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261203142900-0123456789ab"}},
			"v0.0.0-20261203142900-0123456789ab", "0123456789ab"},
		{"go install …@commit after a tag", debug.BuildInfo{Main: debug.Module{Version: "v1.4.1-0.20261203142900-0123456789ab"}},
			"v1.4.1-0.20261203142900-0123456789ab", "0123456789ab"},
		{"go build in a clean checkout", debug.BuildInfo{
			Main:     debug.Module{Version: "v1.4.1-0.20261203142900-0123456789ab"},
			Settings: setting("vcs", "git", "vcs.revision", commit, "vcs.modified", "false"),
		}, "v1.4.1-0.20261203142900-0123456789ab", commit},
		{"go build in an edited checkout", debug.BuildInfo{
			Main:     debug.Module{Version: "v1.4.1-0.20261203142900-0123456789ab+dirty"},
			Settings: setting("vcs.revision", commit, "vcs.modified", "true"),
		}, "v1.4.1-0.20261203142900-0123456789ab+dirty", commit + "-modified"},
		{"go build -buildvcs=false", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "(devel)", ""},
	} {
		ver, rev := moduleVersion(&tc.info)
		if ver != tc.ver || rev != tc.rev {
			t.Errorf("%s: moduleVersion = %q, %q; want %q, %q", tc.name, ver, rev, tc.ver, tc.rev)
		}
	}
}
