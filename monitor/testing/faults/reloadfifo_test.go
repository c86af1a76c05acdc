package faults_test

import (
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestReloadOfAFIFONeverHoldsSIGTERM replaces the configuration file of a
// running `icpmon serve` with a FIFO that nobody writes (opening it blocks
// for ever), triggers a reload by SIGHUP or POST /-/reload, and sends
// SIGTERM: the daemon must exit 0 without waiting out the drain timeout.
func TestReloadOfAFIFONeverHoldsSIGTERM(t *testing.T) {
	t.Parallel()
	for _, trigger := range []string{"SIGHUP", "POST"} {
		t.Run(trigger, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			path := w.config("  url: "+w.redis.URL(), "")
			p := serve(t, path)
			eventually(t, "ready", func() (bool, string) {
				code, body := p.get("GET", "/-/ready")
				return code == http.StatusOK, body
			})
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
			answered := make(chan int, 1)
			if trigger == "SIGHUP" {
				p.signal(syscall.SIGHUP)
			} else {
				go func() {
					req, _ := http.NewRequest("POST", p.base+"/-/reload", nil)
					resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
					if err != nil {
						answered <- 0 // the connection closed by the shutdown is an answer too
						return
					}
					_ = resp.Body.Close()
					answered <- resp.StatusCode
				}()
			}
			eventually(t, "the reload begins", func() (bool, string) {
				return p.count(`"msg":"reloading the configuration"`) > 0, "not yet"
			})
			// The web surface still answers while the reload is under way.
			if code, body := p.get("GET", "/-/healthy"); code != http.StatusOK {
				t.Errorf("/-/healthy during the reload: %d %q", code, body)
			}
			p.signal(syscall.SIGTERM)
			p.stoppedCleanly(t)
			if p.count("HTTP connections did not drain") > 0 {
				t.Errorf("the shutdown waited for the reload's request to drain:\n%s", p.stderr)
			}
			if trigger == "POST" {
				select {
				case code := <-answered:
					t.Logf("POST /-/reload answered %d", code)
				case <-time.After(time.Minute):
					t.Error("POST /-/reload still unanswered after the daemon exited")
				}
			}
		})
	}
}
