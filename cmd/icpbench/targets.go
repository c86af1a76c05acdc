package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
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

// pki is a private CA and a certificate it signed for *.reach.test and 127.0.0.1.
type pki struct{ caFile, certFile, keyFile string }

func newPKI(dir string) (pki, error) {
	p := pki{caFile: filepath.Join(dir, "ca.pem"), certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem")}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return p, err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "icpbench CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return p, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return p, err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "reach.test"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{"reach.test", "*.reach.test"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return p, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return p, err
	}
	for file, block := range map[string]*pem.Block{
		p.caFile:   {Type: "CERTIFICATE", Bytes: caDER},
		p.certFile: {Type: "CERTIFICATE", Bytes: leafDER},
		p.keyFile:  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			return p, err
		}
	}
	return p, nil
}
