package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// cpuTime is the user plus system CPU a running process has used, all its
// threads together (/proc/PID/stat utime and stime).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, may hold spaces; the fields after it don't.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %v %v", pid, err1, err2)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// memoryKiB reads a field of /proc/PID/status such as VmRSS or VmHWM.
func memoryKiB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// process is a child process whose output lines can be waited for.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}

	mu    sync.Mutex
	lines []string
	cond  *sync.Cond
}

// start runs name with args, logging its output to logFile and keeping its
// lines for waitLine.
func start(ctx context.Context, logFile string, env []string, name string, args ...string) (*process, error) {
	f, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	p := &process{cmd: cmd, done: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		s := bufio.NewScanner(pr)
		s.Buffer(make([]byte, 64<<10), 4<<20)
		for s.Scan() {
			fmt.Fprintln(f, s.Text())
			p.mu.Lock()
			p.lines = append(p.lines, s.Text())
			p.cond.Broadcast()
			p.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, pr)
		f.Close()
	}()
	go func() {
		_ = cmd.Wait()
		pw.Close()
		p.mu.Lock()
		close(p.done)
		p.cond.Broadcast()
		p.mu.Unlock()
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// lineCount is how many output lines the process has written so far.
func (p *process) lineCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.lines)
}

// waitLine waits for an output line, from the from-th on, for which match is
// true, and returns it with the index after it.
func (p *process) waitLine(from int, limit time.Duration, match func(string) bool) (string, int, error) {
	deadline := time.Now().Add(limit)
	timer := time.AfterFunc(limit, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer timer.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := from; ; {
		for ; i < len(p.lines); i++ {
			if match(p.lines[i]) {
				return p.lines[i], i + 1, nil
			}
		}
		select {
		case <-p.done:
			return "", i, fmt.Errorf("%s exited before the line awaited", p.cmd.Path)
		default:
		}
		if time.Now().After(deadline) {
			return "", i, fmt.Errorf("waiting %s for a line of %s: %w", limit, p.cmd.Path, errTimeout)
		}
		p.cond.Wait()
	}
}

// stop ends the process (SIGTERM, then SIGKILL after grace) and waits.
func (p *process) stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// benchTool is a program the chosen figures run, and the Debian package
// that has it.
type benchTool struct{ bin, pkg string }

// requiredTools are the programs the chosen figures run.
func requiredTools(o options) []benchTool {
	var tools []benchTool
	if o.needs("store", "daemon", "reach", "query") {
		tools = append(tools, benchTool{"redis-server", "redis-server"})
	}
	if o.needs("store") {
		tools = append(tools, benchTool{"redis-benchmark", "redis-tools"})
	}
	if o.needs("reach") {
		tools = append(tools, benchTool{"prometheus-blackbox-exporter", "prometheus-blackbox-exporter"}, benchTool{"wrk", "wrk"})
	}
	return tools
}

// checkTools fails, naming every missing program, when one the chosen
// figures run is not on PATH. icpbench installs nothing: `make bench` does
// (.ci/install-deps bench).
func checkTools(o options) error {
	var missing []string
	for _, t := range requiredTools(o) {
		if _, err := exec.LookPath(t.bin); err != nil {
			missing = append(missing, fmt.Sprintf("%s (Debian package %s)", t.bin, t.pkg))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s: run `make bench`, which installs them", strings.Join(missing, ", "))
	}
	return nil
}
