// Package packaging tests `make package`: the .deb installed, upgraded,
// removed and purged with this machine's dpkg, the .rpm read with rpm, the
// maintainer scripts with and without a running systemd, and version.sh.
// The directory is deploy/package; "package" cannot name a Go package.
package packaging

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// root is the top of the checkout, seen from this package.
const root = "../.."

const (
	conffile = "/etc/icpmon/icpmon.yml"
	unitPath = "/usr/lib/systemd/system/icpmon.service"
	binPath  = "/usr/bin/icpmon"
	manPath  = "/usr/share/man/man1/icpmon.1.gz"
	bashPath = "/usr/share/bash-completion/completions/icpmon"
	// zsh looks in different places on Debian and on rpm systems.
	zshDeb = "/usr/share/zsh/vendor-completions/_icpmon"
	zshRPM = "/usr/share/zsh/site-functions/_icpmon"
)

// ownDirs are the directories only icpmon uses: the packages list them, and
// removing the package removes them.
var ownDirs = []string{
	"/etc/icpmon",
	"/usr/share/icpmon", "/usr/share/icpmon/rules", "/usr/share/icpmon/grafana",
	"/usr/share/doc/icpmon", "/usr/share/doc/icpmon/examples",
}

// packagedFile is a regular file a package installs.
type packagedFile struct {
	path string
	mode os.FileMode
	// source is the checkout's file it is a copy of; empty for the files
	// generated at build time, which checkInstalled looks at one by one.
	source string
}

// packagedFiles lists the files of a package whose zsh completion is at zsh.
func packagedFiles(t *testing.T, zsh string) []packagedFile {
	t.Helper()
	files := []packagedFile{
		{binPath, 0o755, ""},
		{unitPath, 0o644, ""},
		{conffile, 0o644, "deploy/icpmon.yml"},
		{"/usr/share/icpmon/grafana/icpmon.json", 0o644, "deploy/grafana/icpmon.json"},
		{"/usr/share/doc/icpmon/README.md", 0o644, "README.md"},
		{"/usr/share/doc/icpmon/LICENSE", 0o644, "LICENSE"},
		{"/usr/share/doc/icpmon/examples/alertmanager.yml", 0o644, "deploy/alertmanager.yml"},
		{"/usr/share/doc/icpmon/examples/wecom.tmpl", 0o644, "deploy/wecom.tmpl"},
		{manPath, 0o644, ""},
		{bashPath, 0o644, ""},
		{zsh, 0o644, ""},
	}
	rules, err := filepath.Glob(filepath.Join(root, "alerts/*.rules.yml"))
	if err != nil || len(rules) == 0 {
		t.Fatalf("no alert rules in alerts/ (%v)", err)
	}
	for _, r := range rules {
		files = append(files, packagedFile{"/usr/share/icpmon/rules/" + filepath.Base(r), 0o644, "alerts/" + filepath.Base(r)})
	}
	return files
}

// tool finds a program the test needs. Without it the test is skipped, except
// in CI (CI=true), where .ci/install-deps installs it and its absence fails.
func tool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is needed (make deps installs it): %v", name, err)
	}
	t.Skipf("%s is missing (make deps installs it): %v", name, err)
	return ""
}

// asRoot skips a test that changes what is installed on the machine unless it
// runs as root.
func asRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("installs packages on this machine: runs only as root")
	}
}

// command runs a program and returns its standard output; its failure fails
// the test.
func command(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestVersion(t *testing.T) {
	sh := tool(t, "sh")
	for describe, want := range map[string]string{
		"v1.2.3":                       "1.2.3",
		"1.2.3":                        "1.2.3",
		"v1.2.3-rc.1":                  "1.2.3~rc.1",
		"v1.2.3-4-gabc1234":            "1.2.3+git4.abc1234",
		"v1.2.3-rc.1-4-gabc1234-dirty": "1.2.3~rc.1+git4.abc1234.dirty",
		"v1.2.3-dirty":                 "1.2.3+dirty",
		"16a131c":                      "0.0.0~git20261203.16a131c",
		"16a131c-dirty":                "0.0.0~git20261203.16a131c+dirty",
	} {
		out, err := exec.CommandContext(t.Context(), sh, "version.sh", describe, "20261203").CombinedOutput()
		if err != nil || string(out) != want+"\n" {
			t.Errorf("version.sh %s: %q (%v), want %q", describe, out, err, want)
		}
	}
	// Neither a release tag nor a commit: one error, no version.
	for _, describe := range []string{"dev", "v1.2", "nightly-3-gabc1234", "v1.2.3 "} {
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(t.Context(), sh, "version.sh", describe, "20261203")
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err == nil || stdout.Len() > 0 || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("version.sh %q: %v, stdout %q, stderr %q; want one error line", describe, err, stdout.String(), stderr.String())
		}
	}
	// dpkg and rpm order the versions as the commits came.
	dpkg, rpm := tool(t, "dpkg"), tool(t, "rpm")
	ordered := []string{"0.0.0~git20261203.16a131c", "0.0.0~git20261204.0abcdef", "1.2.3~rc.1",
		"1.2.3~rc.1+git4.abc1234", "1.2.3", "1.2.3+dirty", "1.2.3+git4.abc1234", "1.2.3+git12.0abcdef"}
	for i := 1; i < len(ordered); i++ {
		older, newer := ordered[i-1], ordered[i]
		if err := exec.CommandContext(t.Context(), dpkg, "--compare-versions", older, "lt", newer).Run(); err != nil {
			t.Errorf("dpkg does not order %s before %s", older, newer)
		}
		vercmp := fmt.Sprintf(`%%{lua: print(rpm.vercmp(%q, %q))}`, older, newer)
		if got := command(t, rpm, "--eval", vercmp); got != "-1\n" {
			t.Errorf("rpm does not order %s before %s: vercmp %q", older, newer, got)
		}
	}
}

// maintainerScriptCase is one run of a maintainer script: its argument (deb's
// action or rpm's count of versions left) and what it asks systemctl.
type maintainerScriptCase struct {
	script, arg string
	want        string // the systemctl command line, or "" for none
}

// TestMaintainerScripts runs the scripts in a private mount namespace whose
// /run says systemd runs or not, with a systemctl that records its arguments
// and fails: the scripts must go on regardless.
func TestMaintainerScripts(t *testing.T) {
	asRoot(t)
	unshare := tool(t, "unshare")
	fake := t.TempDir()
	calls := filepath.Join(fake, "calls")
	systemctl := "#!/bin/sh\necho \"$*\" >>" + calls + "\nexit 1\n"
	if err := os.WriteFile(filepath.Join(fake, "systemctl"), []byte(systemctl), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []maintainerScriptCase{
		{"daemon-reload.sh", "configure", "daemon-reload"},
		{"daemon-reload.sh", "1", "daemon-reload"},
		{"daemon-reload.sh", "purge", "daemon-reload"},
		{"daemon-reload.sh", "0", "daemon-reload"},
		{"prerm.sh", "remove", "disable --now icpmon.service"},
		{"prerm.sh", "0", "disable --now icpmon.service"},
		{"prerm.sh", "upgrade", ""},
		{"prerm.sh", "1", ""},
	}
	for _, running := range []bool{true, false} {
		for _, c := range cases {
			if err := os.RemoveAll(calls); err != nil {
				t.Fatal(err)
			}
			setup := "mount -t tmpfs icpmon-test /run || exit 1\n"
			if running {
				setup += "mkdir -p /run/systemd/system || exit 1\n"
			}
			cmd := exec.CommandContext(t.Context(), unshare, "--mount", "sh", "-c", setup+`exec sh "$@"`, "sh", c.script, c.arg)
			cmd.Env = append(os.Environ(), "PATH="+fake+":"+os.Getenv("PATH"))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s %s (systemd running: %v): %v\n%s", c.script, c.arg, running, err, out)
				continue
			}
			got, err := os.ReadFile(calls)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err)
			}
			want := ""
			if running && c.want != "" {
				want = c.want + "\n"
			}
			if string(got) != want {
				t.Errorf("%s %s (systemd running: %v) ran systemctl %q, want %q", c.script, c.arg, running, got, want)
			}
		}
	}
}

// built is what buildPackages made.
type built struct {
	deb, rpm string
	describe string // the git describe the binary was stamped with
	version  string // the package version, version.sh's
}

// buildPackages runs `make package` into temporary directories.
func buildPackages(t *testing.T) built {
	t.Helper()
	git, mk, sh := tool(t, "git"), tool(t, "make"), tool(t, "sh")
	tool(t, "go")
	b := built{describe: strings.TrimSpace(command(t, git, "-C", root, "describe", "--tags", "--always", "--dirty"))}
	b.version = strings.TrimSpace(command(t, sh, "version.sh", b.describe))
	dir := t.TempDir()
	out := filepath.Join(dir, "packages")
	// VERSION is given so that the packages and this test agree on it while
	// the tree changes under them.
	cmd := exec.CommandContext(t.Context(), mk, "-C", root, "--no-print-directory", "package",
		"VERSION="+b.describe, "PKG_STAGE="+filepath.Join(dir, "stage"), "PKG_OUT="+out)
	if log, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make package: %v\n%s", err, log)
	}
	for ext, path := range map[string]*string{"deb": &b.deb, "rpm": &b.rpm} {
		found, err := filepath.Glob(filepath.Join(out, "icpmon*."+ext))
		if err != nil || len(found) != 1 {
			t.Fatalf("make package made %q .%s files, want one (%v)", found, ext, err)
		}
		*path = found[0]
	}
	return b
}

// TestPackages builds both packages once, reads the .rpm and takes the .deb
// through install, upgrade, remove and purge on this machine.
func TestPackages(t *testing.T) {
	b := buildPackages(t)
	t.Run("rpm", func(t *testing.T) { checkRPM(t, b) })
	t.Run("deb", func(t *testing.T) { checkDeb(t, b) })
}

// checkRPM lists the .rpm with a throwaway database: the files, their modes,
// the config flags, the version and the scripts.
func checkRPM(t *testing.T, b built) {
	rpm := tool(t, "rpm")
	query := func(format string) string {
		return command(t, rpm, "--dbpath", t.TempDir(), "-qp", "--qf", format, b.rpm)
	}
	if got := query("%{VERSION}"); got != b.version {
		t.Errorf("rpm version %q, want %q", got, b.version)
	}

	type entry struct{ mode, flags string }
	want := map[string]entry{}
	for _, f := range packagedFiles(t, zshRPM) {
		want[f.path] = entry{fmt.Sprintf("100%o", f.mode), ""}
	}
	for _, d := range ownDirs {
		want[d] = entry{"40755", ""}
	}
	// %config(noreplace): "c" config, "n" noreplace.
	want[conffile] = entry{want[conffile].mode, "cn"}
	got := map[string]entry{}
	for line := range strings.Lines(query("[%{FILENAMES}\t%{FILEMODES:octal}\t%{FILEFLAGS:fflags}\n]")) {
		fields := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		if len(fields) != 3 {
			t.Fatalf("rpm file line %q is not path, mode, flags", line)
		}
		got[fields[0]] = entry{fields[1], fields[2]}
	}
	for path, w := range want {
		if g, ok := got[path]; !ok {
			t.Errorf("rpm lacks %s", path)
		} else if g != w {
			t.Errorf("rpm %s: mode %s flags %q, want mode %s flags %q", path, g.mode, g.flags, w.mode, w.flags)
		}
	}
	for path := range got {
		if _, ok := want[path]; !ok {
			t.Errorf("rpm holds %s, which the deb does not", path)
		}
	}

	for tag, script := range map[string]string{"POSTIN": "daemon-reload.sh", "PREUN": "prerm.sh", "POSTUN": "daemon-reload.sh"} {
		if got, want := query("%{"+tag+"}"), strings.TrimSpace(string(readFile(t, script))); strings.TrimSpace(got) != want {
			t.Errorf("rpm %%{%s} is not %s:\n%s", tag, script, got)
		}
	}
}

// checkDeb installs the .deb, checks what it installed, reinstalls it over an
// edited configuration, removes it and purges it. A cleanup purges it even
// when the test fails half way.
func checkDeb(t *testing.T, b built) {
	asRoot(t)
	dpkg, dpkgQuery, dpkgDeb := tool(t, "dpkg"), tool(t, "dpkg-query"), tool(t, "dpkg-deb")
	files := packagedFiles(t, zshDeb)

	if got := strings.TrimSpace(command(t, dpkgDeb, "-f", b.deb, "Version")); got != b.version+"-1" {
		t.Errorf("deb version %q, want %q", got, b.version+"-1")
	}
	refuseForeignInstall(t, dpkgQuery, files)
	t.Cleanup(func() {
		// t.Context is done by now: the purge must run all the same.
		if out, err := exec.Command(dpkg, "--purge", "icpmon").CombinedOutput(); err != nil {
			t.Errorf("cleanup: dpkg --purge icpmon: %v\n%s", err, out)
		}
	})

	dpkgRun(t, dpkg, "-i", b.deb)
	checkInstalled(t, b, files)
	if conffiles := command(t, dpkgQuery, "-W", "-f", "${Conffiles}", "icpmon"); !strings.Contains(conffiles, " "+conffile+" ") {
		t.Errorf("dpkg lists conffiles %q, want %s among them", conffiles, conffile)
	}

	// Reinstalling, as an upgrade does, keeps the operator's configuration
	// without asking (stdin is empty: a question would fail dpkg).
	edited := append(readFile(t, conffile), "# edited on the host\n"...)
	if err := os.WriteFile(conffile, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	dpkgRun(t, dpkg, "-i", b.deb)
	if got := readFile(t, conffile); !bytes.Equal(got, edited) {
		t.Errorf("reinstalling replaced the edited %s", conffile)
	}

	// Removing keeps the configuration, purging takes it too.
	dpkgRun(t, dpkg, "-r", "icpmon")
	for _, f := range files {
		if f.path != conffile {
			wantGone(t, f.path)
		}
	}
	if got := readFile(t, conffile); !bytes.Equal(got, edited) {
		t.Errorf("dpkg -r did not keep the edited %s", conffile)
	}
	if status := dpkgStatus(t, dpkgQuery); status != "config-files" {
		t.Errorf("after dpkg -r the package is %q, want config-files", status)
	}
	dpkgRun(t, dpkg, "--purge", "icpmon")
	for _, f := range files {
		wantGone(t, f.path)
	}
	for _, d := range ownDirs {
		wantGone(t, d)
	}
	if status := dpkgStatus(t, dpkgQuery); status != "" && status != "not-installed" {
		t.Errorf("after dpkg --purge the package is %q, want it gone", status)
	}
}

// dpkgStatus is dpkg's state of the icpmon package, or "" when dpkg never
// heard of it.
func dpkgStatus(t *testing.T, dpkgQuery string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), dpkgQuery, "-W", "-f", "${db:Status-Status}", "icpmon").Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 && strings.Contains(string(exit.Stderr), "no packages found") {
		return ""
	}
	if err != nil {
		t.Fatalf("dpkg-query -W icpmon: %v", err)
	}
	return string(out)
}

// refuseForeignInstall fails the test when icpmon is on this machine already,
// packaged or by `make install`: the test would purge it.
func refuseForeignInstall(t *testing.T, dpkgQuery string, files []packagedFile) {
	t.Helper()
	if status := dpkgStatus(t, dpkgQuery); status != "" && status != "not-installed" {
		t.Fatalf("an icpmon package this test did not install is on this machine (dpkg status %q); "+
			"the test would replace and purge it: remove it (dpkg --purge icpmon) or test elsewhere", status)
	}
	for _, f := range files {
		_, err := os.Lstat(f.path)
		if err == nil {
			t.Fatalf("%s is on this machine already, not from this test; "+
				"the test would overwrite and purge it: remove it or test elsewhere", f.path)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
}

// dpkgRun runs dpkg with nothing on its stdin.
func dpkgRun(t *testing.T, dpkg string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), dpkg, args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("dpkg %s:\n%s", strings.Join(args, " "), out)
}

func wantGone(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s is still there (%v)", path, err)
	}
}

// checkInstalled checks every installed file's mode and contents.
func checkInstalled(t *testing.T, b built, files []packagedFile) {
	t.Helper()
	for _, f := range files {
		info, err := os.Lstat(f.path)
		if err != nil {
			t.Errorf("not installed: %v", err)
			continue
		}
		if !info.Mode().IsRegular() || info.Mode().Perm() != f.mode {
			t.Errorf("%s: mode %v, want a regular file of mode %v", f.path, info.Mode(), f.mode)
		}
		if f.source != "" && !bytes.Equal(readFile(t, f.path), readFile(t, filepath.Join(root, f.source))) {
			t.Errorf("%s differs from %s", f.path, f.source)
		}
	}
	checkBinary(t, b)
	checkUnit(t)
	checkManPage(t)
	checkCompletion(t)
}

// checkBinary runs the installed binary and checks it needs no libc.
func checkBinary(t *testing.T, b built) {
	t.Helper()
	if out := command(t, binPath, "version"); !strings.HasPrefix(out, "icpmon, version "+b.describe+" ") {
		t.Errorf("%s version says %q, want version %s", binPath, out, b.describe)
	}
	exe, err := elf.Open(binPath)
	if err != nil {
		t.Fatal(err)
	}
	defer exe.Close()
	for _, p := range exe.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked: the package builds it with CGO_ENABLED=0", binPath)
		}
	}
}

// checkUnit compares the installed unit with deploy/icpmon.service and runs
// systemd-analyze verify over it, which also checks that ExecStart exists.
func checkUnit(t *testing.T) {
	t.Helper()
	source := string(readFile(t, filepath.Join(root, "deploy/icpmon.service")))
	want := strings.ReplaceAll(source, "/usr/local/bin/icpmon", binPath)
	got := string(readFile(t, unitPath))
	if got != want || !strings.Contains(got, "\nExecStart="+binPath+" serve --config "+conffile+"\n") {
		t.Errorf("%s is not deploy/icpmon.service starting %s:\n%s", unitPath, binPath, got)
	}
	// Problems are warnings with exit status 0: clean means silent.
	out, err := exec.CommandContext(t.Context(), tool(t, "systemd-analyze"), "verify", "--man=no", unitPath).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", unitPath, err, out)
	}
}

// checkManPage reads the man page as kingpin wrote it and as man shows it.
func checkManPage(t *testing.T) {
	t.Helper()
	f, err := os.Open(manPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", manPath, err)
	}
	roff, err := io.ReadAll(z)
	if err != nil {
		t.Fatalf("%s: %v", manPath, err)
	}
	// Nothing but the page: no usage text after it.
	if !bytes.HasPrefix(roff, []byte(".TH icpmon 1")) || bytes.Contains(roff, []byte("usage: icpmon")) {
		t.Errorf("%s is not only a man page:\n%s", manPath, roff)
	}
	cmd := exec.CommandContext(t.Context(), tool(t, "man"), "-l", manPath)
	cmd.Env = append(os.Environ(), "MANPAGER=cat", "PAGER=cat", "MANWIDTH=80")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("man -l %s: %v\n%s", manPath, err, out)
	}
	for _, want := range []string{"SYNOPSIS", "check-config", "--config=FILE"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("man -l %s shows no %q:\n%s", manPath, want, out)
		}
	}
}

// checkCompletion completes "icpmon tr" with the installed bash completion,
// which asks the installed binary; zsh is not installed, so its script is
// only read.
func checkCompletion(t *testing.T) {
	t.Helper()
	script := `source ` + bashPath + `
COMP_WORDS=(icpmon tr); COMP_CWORD=1
_icpmon_bash_autocomplete
echo "${COMPREPLY[*]}"`
	cmd := exec.CommandContext(t.Context(), tool(t, "bash"), "--norc", "--noprofile", "-c", script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || string(out) != "track\n" || stderr.Len() > 0 {
		t.Errorf("bash completion of \"icpmon tr\": %q (%v), stderr %q; want \"track\"", out, err, stderr.String())
	}
	zsh := readFile(t, zshDeb)
	if !bytes.HasPrefix(zsh, []byte("#compdef icpmon\n")) || bytes.Contains(zsh, []byte("usage: icpmon")) {
		t.Errorf("%s is not only a zsh completion script:\n%s", zshDeb, zsh)
	}
}
