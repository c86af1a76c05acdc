package harness

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"slices"
	"testing"
	"time"
)

func TestListeningAddress(t *testing.T) {
	log := `{"msg":"configuration loaded"}` + "\n" +
		`{"time":"x","level":"INFO","source":"tls_config.go:1","msg":"Listening on","address":"127.0.0.1:4321"}` + "\n"
	if addr, ok := ListeningAddress(log); !ok || addr != "127.0.0.1:4321" {
		t.Errorf("ListeningAddress = %q, %v", addr, ok)
	}
	if addr, ok := ListeningAddress(`{"msg":"Listening soon","address":"127.0.0.1:1"}`); ok {
		t.Errorf("found %q in a log without the line", addr)
	}
}

func TestLogAndList(t *testing.T) {
	var l Log
	fmt.Fprint(&l, "one\ntwo\nthree\n")
	if got := l.Tail(2); got != "two\nthree" {
		t.Errorf("Tail(2) = %q", got)
	}
	var list List[int]
	list.Add(1)
	list.Add(2)
	if got := list.All(); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("All = %v", got)
	}
	if got := list.Take(); !slices.Equal(got, []int{1, 2}) || len(list.All()) != 0 {
		t.Errorf("Take = %v, then %v", got, list.All())
	}
}

func TestStartDaemonWaitsForItToListenAndStopsIt(t *testing.T) {
	var stopped bool
	d := StartDaemon(t, func(ctx context.Context, logger *slog.Logger) error {
		logger.Info("Listening on", "address", "127.0.0.1:5555")
		<-ctx.Done()
		stopped = true
		return nil
	})
	if d.Addr != "127.0.0.1:5555" {
		t.Errorf("Addr = %q", d.Addr)
	}
	if err := d.Stop(); err != nil || !stopped {
		t.Errorf("Stop = %v, run stopped %v", err, stopped)
	}
}

func TestProcessIsStoppedWhenTheTestEnds(t *testing.T) {
	var p *Process
	t.Run("sleeper", func(t *testing.T) {
		p = StartProcess(t, exec.Command("sleep", "600"), time.Minute)
		if exited, _ := p.Exited(); exited {
			t.Fatal("sleep exited at once")
		}
	})
	code, err := p.Wait(time.Second)
	if err != nil || code != -1 {
		t.Errorf("after its test: exit %d, %v; want ended by a signal", code, err)
	}
}

func TestRawListener(t *testing.T) {
	addr := RawListener(t, func(c net.Conn) {
		line, _ := bufio.NewReader(c).ReadString('\n')
		fmt.Fprint(c, "echo "+line)
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "hello\n")
	if got, err := bufio.NewReader(c).ReadString('\n'); err != nil || got != "echo hello\n" {
		t.Errorf("read %q, %v", got, err)
	}
}

func TestEventually(t *testing.T) {
	n := 0
	Eventually(t, time.Minute, "the third poll", func() (bool, string) {
		n++
		return n == 3, fmt.Sprint(n)
	})
	if n != 3 {
		t.Errorf("polled %d times", n)
	}
}
