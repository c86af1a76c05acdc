package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a private redis-server on a free loopback port, without
// persistence, as the tests start it (monitor/testing/redistest).
type redisServer struct {
	proc   *process
	addr   string
	client *redis.Client
}

func startRedis(ctx context.Context, dir string) (*redisServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	proc, err := start(ctx, filepath.Join(dir, "redis.log"), nil, "redis-server",
		"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", dir,
		"--save", "", "--appendonly", "no", "--protected-mode", "yes")
	if err != nil {
		return nil, err
	}
	s := &redisServer{proc: proc, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	s.client = redis.NewClient(&redis.Options{Addr: s.addr, ReadTimeout: time.Minute})
	for deadline := time.Now().Add(10 * time.Second); ; {
		if err := s.client.Ping(ctx).Err(); err == nil {
			return s, nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("redis-server on %s did not answer: %w", s.addr, errTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *redisServer) url() string { return "redis://" + s.addr + "/0" }

func (s *redisServer) stop() {
	_ = s.client.Close()
	s.proc.stop(5 * time.Second)
}

// reset empties the server and its script cache, as a fresh Redis is.
func (s *redisServer) reset(ctx context.Context) error {
	if err := s.client.FlushAll(ctx).Err(); err != nil {
		return err
	}
	return s.client.ScriptFlush(ctx).Err()
}

// info reads INFO sections as a map of field to value.
func (s *redisServer) info(ctx context.Context, sections ...string) (map[string]string, error) {
	text, err := s.client.Info(ctx, sections...).Result()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for line := range strings.Lines(text) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			out[k] = v
		}
	}
	return out, nil
}

// serverStats is what INFO says about the work Redis did.
type serverStats struct {
	commands int64         // total_commands_processed, a script's inner calls included
	cpu      time.Duration // used_cpu_user + used_cpu_sys
	netIn    int64         // total_net_input_bytes
}

func (s *redisServer) stats(ctx context.Context) (serverStats, error) {
	m, err := s.info(ctx, "stats", "cpu")
	if err != nil {
		return serverStats{}, err
	}
	cmds, _ := strconv.ParseInt(m["total_commands_processed"], 10, 64)
	in, _ := strconv.ParseInt(m["total_net_input_bytes"], 10, 64)
	user, _ := strconv.ParseFloat(m["used_cpu_user"], 64)
	sys, _ := strconv.ParseFloat(m["used_cpu_sys"], 64)
	return serverStats{commands: cmds, cpu: time.Duration((user + sys) * float64(time.Second)), netIn: in}, nil
}

// since is the work done between two readings. The reading before counts
// as one command (its own INFO).
func (a serverStats) since(before serverStats) serverStats {
	return serverStats{commands: a.commands - before.commands - 1, cpu: a.cpu - before.cpu, netIn: a.netIn - before.netIn}
}

// relay forwards TCP connections to a Redis and counts round trips: a
// client's request (a command, or a whole pipeline) sent after the previous
// answer began is one. Counting on the wire needs no MONITOR, which would
// slow Redis down and count a script's inner calls as commands.
type relay struct {
	l      net.Listener
	target string
	trips  atomic.Int64
	wg     sync.WaitGroup
}

func startRelay(target string) (*relay, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &relay{l: l, target: target}
	r.wg.Go(r.accept)
	return r, nil
}

func (r *relay) url() string { return "redis://" + r.l.Addr().String() + "/0" }

func (r *relay) close() {
	r.l.Close()
	r.wg.Wait()
}

func (r *relay) accept() {
	for {
		c, err := r.l.Accept()
		if err != nil {
			return
		}
		r.wg.Go(func() { r.serve(c) })
	}
}

// serve relays one connection. answered is set when the server has spoken
// since the client last did: the client's next bytes start a new round trip.
func (r *relay) serve(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", r.target)
	if err != nil {
		return
	}
	defer up.Close()
	var answered atomic.Bool
	answered.Store(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, err := up.Read(buf)
			if n > 0 {
				answered.Store(true)
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				c.Close()
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if answered.Swap(false) {
				r.trips.Add(1)
			}
			if _, werr := up.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil { // io.EOF too: the client is done
			break
		}
	}
	up.Close()
	<-done
}
