package faults_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The icpmon binary, built once for the process tests.
var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

// icpmon builds ./cmd/icpmon once per run (with the race detector when the
// suite has it, which also reuses the packages the test build compiled) and
// returns its path.
func icpmon(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		binary.dir, binary.err = os.MkdirTemp("", "icpmon-faults-")
		if binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "icpmon")
		goTool, err := exec.LookPath("go")
		if err != nil {
			binary.err = err
			return
		}
		args := []string{"build", "-o", binary.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command(goTool, append(args, "github.com/icpmon/icpmon/cmd/icpmon")...)
		binary.out, binary.err = cmd.CombinedOutput()
	})
	if binary.err != nil {
		t.Fatalf("go build ./cmd/icpmon: %v\n%s", binary.err, binary.out)
	}
	return binary.path
}

func removeBinary() {
	if binary.dir != "" {
		_ = os.RemoveAll(binary.dir)
	}
}
