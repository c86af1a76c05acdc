// Package deploy holds what an ops host needs to run icpmon: the hardened
// systemd unit, install.sh, the example configuration and the Alertmanager
// example. Its Go tests run systemd-analyze over the unit and install.sh into
// a temporary root.
package deploy

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const (
	unitFile      = "icpmon.service"
	execStart     = "/usr/local/bin/icpmon serve --config /etc/icpmon/icpmon.yml"
	maxExposure   = 2.0
	installScript = "install.sh"
)

// lookTool finds a program that `make deps` installs; a missing one fails the test.
func lookTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed (make deps installs it): %v", name, err)
	}
	return path
}

// unitSettings reads the [Service] section; repeated keys keep every value.
func unitSettings(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	settings := map[string][]string{}
	section := ""
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = line
		case section == "[Service]":
			key, value, _ := strings.Cut(line, "=")
			settings[key] = append(settings[key], value)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return settings
}

// The hardening the issue names, besides the overall exposure score.
func TestUnitSettings(t *testing.T) {
	got := unitSettings(t, unitFile)
	for key, want := range map[string]string{
		"ExecStart":               execStart,
		"ExecReload":              "/bin/kill -HUP $MAINPID",
		"Restart":                 "on-failure",
		"DynamicUser":             "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"NoNewPrivileges":         "yes",
		"CapabilityBoundingSet":   "",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"SystemCallFilter":        "@system-service",
		"MemoryDenyWriteExecute":  "yes",
	} {
		values, ok := got[key]
		if !ok || values[0] != want {
			t.Errorf("%s=%q, want %q", key, values, want)
		}
	}
}

// systemd-analyze verify checks that ExecStart names an executable, which
// /usr/local/bin/icpmon is not on a build machine: a copy of the unit points
// at the test binary instead, and nothing else changes.
func TestUnitVerifies(t *testing.T) {
	analyze := lookTool(t, "systemd-analyze")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(unit, []byte("ExecStart="+execStart+"\n")) {
		t.Fatalf("%s has no line ExecStart=%s", unitFile, execStart)
	}
	copied := filepath.Join(t.TempDir(), unitFile)
	unit = bytes.ReplaceAll(unit, []byte("/usr/local/bin/icpmon"), []byte(self))
	if err := os.WriteFile(copied, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	verify(t, analyze, copied)
}

// verify runs systemd-analyze verify, which reports problems as warnings and
// still exits 0: clean means it printed nothing.
func verify(t *testing.T, analyze, unit string) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), analyze, "verify", "--man=no", unit).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", unit, err, out)
	}
}

var exposureLine = regexp.MustCompile(`Overall exposure level for \S+: (\d+\.\d+)`)

func TestUnitSecurityExposure(t *testing.T) {
	analyze := lookTool(t, "systemd-analyze")
	out, err := exec.CommandContext(t.Context(), analyze, "security", "--offline=true", "--no-pager", unitFile).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := exposureLine.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no overall exposure level in:\n%s", out)
	}
	exposure, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("overall exposure %.1f", exposure)
	if exposure > maxExposure {
		t.Errorf("overall exposure %.1f, want at most %.1f:\n%s", exposure, maxExposure, out)
	}
}

// buildIcpmon builds the real binary, as `make build` does.
func buildIcpmon(t *testing.T) string {
	t.Helper()
	goTool := lookTool(t, "go")
	bin := filepath.Join(t.TempDir(), "icpmon")
	cmd := exec.CommandContext(t.Context(), goTool, "build", "-o", bin, "./cmd/icpmon")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/icpmon: %v\n%s", err, out)
	}
	return bin
}

// install runs install.sh with the given environment and returns its output.
func install(t *testing.T, env ...string) (string, error) {
	t.Helper()
	bash := lookTool(t, "bash")
	cmd := exec.CommandContext(t.Context(), bash, installScript)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func wantFile(t *testing.T, path string, mode os.FileMode, content string) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Errorf("not installed: %v", err)
		return
	}
	if info.Mode().Perm() != mode {
		t.Errorf("%s: mode %v, want %v", path, info.Mode().Perm(), mode)
	}
	if got := readFile(t, path); got != content {
		t.Errorf("%s: content differs from its source", path)
	}
}

func TestInstall(t *testing.T) {
	bin := buildIcpmon(t)
	dest := t.TempDir()
	out, err := install(t, "DESTDIR="+dest, "BIN="+bin)
	if err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	t.Log(out)

	installedBin := filepath.Join(dest, "usr/local/bin/icpmon")
	wantFile(t, installedBin, 0o755, readFile(t, bin))
	wantFile(t, filepath.Join(dest, "etc/systemd/system", unitFile), 0o644, readFile(t, unitFile))
	config := filepath.Join(dest, "etc/icpmon/icpmon.yml")
	wantFile(t, config, 0o644, readFile(t, "icpmon.yml"))
	rules, err := filepath.Glob("../alerts/*.rules.yml")
	if err != nil || len(rules) == 0 {
		t.Fatalf("no rule files (%v)", err)
	}
	for _, r := range rules {
		wantFile(t, filepath.Join(dest, "usr/local/share/icpmon/rules", filepath.Base(r)), 0o644, readFile(t, r))
	}

	// The installed binary runs.
	if out, err := exec.CommandContext(t.Context(), installedBin, "version").CombinedOutput(); err != nil {
		t.Errorf("%s version: %v\n%s", installedBin, err, out)
	}

	// Installing again keeps the operator's configuration.
	edited := readFile(t, config) + "# edited on the host\n"
	if err := os.WriteFile(config, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := install(t, "DESTDIR="+dest, "BIN="+bin); err != nil {
		t.Fatalf("install.sh again: %v\n%s", err, out)
	}
	if got := readFile(t, config); got != edited {
		t.Error("a second install replaced the existing configuration")
	}
}

func TestInstallPrefix(t *testing.T) {
	bin := buildIcpmon(t)
	dest := t.TempDir()
	if out, err := install(t, "DESTDIR="+dest, "PREFIX=/usr", "BIN="+bin); err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dest, "usr/bin/icpmon")); err != nil {
		t.Errorf("binary not under PREFIX: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dest, "usr/share/icpmon/rules/icpmon.rules.yml")); err != nil {
		t.Errorf("rules not under PREFIX: %v", err)
	}
	unit := filepath.Join(dest, "etc/systemd/system", unitFile)
	if got := unitSettings(t, unit)["ExecStart"]; len(got) != 1 || got[0] != "/usr/bin/icpmon serve --config /etc/icpmon/icpmon.yml" {
		t.Errorf("installed ExecStart=%q, want the binary under PREFIX", got)
	}

	// The installed unit verifies once its binary is where it says.
	staged := filepath.Join(t.TempDir(), unitFile)
	data := strings.ReplaceAll(readFile(t, unit), "/usr/bin/icpmon", filepath.Join(dest, "usr/bin/icpmon"))
	if err := os.WriteFile(staged, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	verify(t, lookTool(t, "systemd-analyze"), staged)
}

// A missing binary stops the install before anything is written.
func TestInstallWithoutBinary(t *testing.T) {
	dest := t.TempDir()
	out, err := install(t, "DESTDIR="+dest, "BIN="+filepath.Join(dest, "missing", "icpmon"))
	if err == nil {
		t.Fatalf("install.sh succeeded without a binary:\n%s", out)
	}
	if !strings.Contains(out, "make build") {
		t.Errorf("the error does not say to run make build:\n%s", out)
	}
	entries, err := os.ReadDir(dest)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("install.sh wrote %d entries before failing", len(entries))
	}
}
