package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/icpmon/icpmon/monitor/testing/pki"
)

// targetsCommand runs the websites of the reach figure in a process of
// their own, so that their CPU is nobody's probe cost.
const targetsCommand = "targets"

// Kinds of website, and the result a correct prober gives for each.
const (
	siteServed  = "served"         // 200 with a page
	siteBlocked = "provider_block" // Alibaba Cloud's ICP block page
	siteSilent  = "timeout"        // accepts the connection and never answers
)

// targetPorts are the listeners of the target process, by kind and scheme.
type targetPorts map[string]map[string]int

// The served page is the size of a small shop's front page head; the block
// page is Alibaba Cloud's, which the prober recognises by Server: Beaver and
// its text.
var (
	servedPage = "<!doctype html><html><head><title>Example shop</title></head><body>" +
		strings.Repeat("<p>Welcome to our shop: new arrivals every week.</p>\n", 40) + "</body></html>\n"
	blockPage = `<html><head><title>403 Forbidden</title></head><body><h1>403 Forbidden</h1>` +
		`<p>Non-compliance ICP Filing. 备案状态不符合访问要求。</p>` +
		`<p><a href="https://help.aliyun.com/aliyun.com/beian/beian-block">beian-block</a></p></body></html>`
)

// serveTargets listens on a loopback port per kind and scheme, prints the
// ports as one JSON line, and serves until interrupted.
func serveTargets(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(targetsCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	certFile := fs.String("cert", "", "certificate PEM")
	keyFile := fs.String("key", "", "key PEM")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		fmt.Fprintf(stderr, "targets: %v\n", err)
		return 1
	}
	handlers := map[string]http.Handler{
		siteServed: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, servedPage)
		}),
		siteBlocked: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Server", "Beaver")
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, blockPage)
		}),
	}
	ports := targetPorts{}
	for _, kind := range []string{siteServed, siteBlocked, siteSilent} {
		ports[kind] = map[string]int{}
		for _, scheme := range []string{"http", "https"} {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				fmt.Fprintf(stderr, "targets: %v\n", err)
				return 1
			}
			ports[kind][scheme] = l.Addr().(*net.TCPAddr).Port
			if kind == siteSilent {
				go holdSilently(l)
				continue
			}
			if scheme == "https" {
				l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
			}
			// Probes never reuse a connection: keep idle ones briefly.
			srv := &http.Server{Handler: handlers[kind], ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Second}
			go func() { _ = srv.Serve(l) }()
		}
	}
	if err := json.NewEncoder(stdout).Encode(ports); err != nil {
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return 0
}

// holdSilently accepts connections and never answers: the site that times out.
func holdSilently(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			_, _ = io.Copy(io.Discard, c) // until the prober gives up
			c.Close()
		}()
	}
}

// certs are the files of a private CA and of a certificate it signed for
// *.reach.test and 127.0.0.1.
type certs struct{ caFile, certFile, keyFile string }

func newCerts(dir string) (certs, error) {
	ca, err := pki.NewCA()
	if err != nil {
		return certs{}, err
	}
	cert, err := ca.Issue(time.Now().Add(24*time.Hour), "reach.test", "*.reach.test", "127.0.0.1")
	if err != nil {
		return certs{}, err
	}
	c := certs{caFile: filepath.Join(dir, "ca.pem")}
	if c.certFile, c.keyFile, err = pki.WriteFiles(dir, "server", cert); err != nil {
		return certs{}, err
	}
	return c, os.WriteFile(c.caFile, ca.CertPEM, 0o600)
}
