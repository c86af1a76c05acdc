package prober

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
)

// Signature is an extra block signature from the config: a response matches
// when every field that is set matches. Text matches ignore ASCII case.
type Signature struct {
	Name string `yaml:"name"` // named in the probe detail
	// Status is the HTTP status code.
	Status int `yaml:"status"`
	// Header is a response header name; with HeaderContains, one of its values
	// must contain that text, otherwise the header must be present.
	Header         string `yaml:"header"`
	HeaderContains string `yaml:"header_contains"`
	// BodyContains is text within the first MaxBody bytes of the body.
	BodyContains string `yaml:"body_contains"`
	// RedirectHost is the host, or a parent domain of the host, that a
	// redirect's Location points to.
	RedirectHost string `yaml:"redirect_host"`
}

func compileSignatures(in []Signature) ([]Signature, error) {
	out := make([]Signature, len(in))
	for i, s := range in {
		if s.Name == "" {
			s.Name = fmt.Sprintf("signature %d", i+1)
		}
		if s.HeaderContains != "" && s.Header == "" {
			return nil, fmt.Errorf("prober: %s: header_contains needs header", s.Name)
		}
		if s.Status != 0 && (s.Status < 100 || s.Status > 599) {
			return nil, fmt.Errorf("prober: %s: status %d is not an HTTP status", s.Name, s.Status)
		}
		if s.Status == 0 && s.Header == "" && s.BodyContains == "" && s.RedirectHost == "" {
			return nil, fmt.Errorf("prober: %s matches every response: set status, header, body_contains or redirect_host", s.Name)
		}
		s.Header = http.CanonicalHeaderKey(s.Header)
		s.HeaderContains = strings.ToLower(s.HeaderContains)
		s.BodyContains = strings.ToLower(s.BodyContains)
		s.RedirectHost = strings.TrimSuffix(strings.ToLower(s.RedirectHost), ".")
		out[i] = s
	}
	return out, nil
}

func (s *Signature) matches(a *answer, next *url.URL) bool {
	if s.Status != 0 && a.status != s.Status {
		return false
	}
	if s.Header != "" && !headerContains(a.header, s.Header, s.HeaderContains) {
		return false
	}
	if s.BodyContains != "" && !bytes.Contains(a.body, []byte(s.BodyContains)) {
		return false
	}
	if s.RedirectHost != "" && (next == nil || !withinDomain(next.Hostname(), s.RedirectHost)) {
		return false
	}
	return true
}

func headerContains(h http.Header, name, text string) bool {
	values := h.Values(name)
	if text == "" {
		return len(values) > 0
	}
	for _, v := range values {
		if strings.Contains(strings.ToLower(v), text) {
			return true
		}
	}
	return false
}

// withinDomain reports whether host is domain or below it.
func withinDomain(host, domain string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return host == domain || strings.HasSuffix(host, "."+domain)
}

// needsBody reports whether a response with this status could be a block that
// is recognised by its body, so the body must be kept.
func (p *Prober) needsBody(status int) bool {
	if status == http.StatusForbidden {
		return true
	}
	for _, s := range p.signatures {
		if s.BodyContains != "" && (s.Status == 0 || s.Status == status) {
			return true
		}
	}
	return false
}

// Markers of the Alibaba Cloud ICP block page (package doc), lower-case.
var (
	alibabaLink    = []byte("aliyun.com/beian/beian-block")
	alibabaMarkers = [][]byte{
		[]byte("non-compliance icp filing"),
		[]byte("beian-block"),
		[]byte("备案状态不符合访问要求"),
		[]byte("域名暂时无法访问"),
	}
)

// blocked recognises an access provider's block in one answer: the built-in
// Alibaba Cloud and Tencent Cloud blocks, then the configured signatures.
func (p *Prober) blocked(a *answer, next *url.URL) (string, bool) {
	if next != nil && strings.EqualFold(next.Hostname(), "dnspod.qcloud.com") && next.Path == "/static/webblock.html" {
		return fmt.Sprintf("Tencent Cloud ICP block: HTTP %d redirect to %s", a.status, next.Host+next.Path), true
	}
	if a.status == http.StatusForbidden && alibabaBlock(a) {
		return "Alibaba Cloud ICP block page: HTTP 403, Server: " + a.header.Get("Server"), true
	}
	for i := range p.signatures {
		if p.signatures[i].matches(a, next) {
			return fmt.Sprintf("block signature %q: HTTP %d", p.signatures[i].Name, a.status), true
		}
	}
	return "", false
}

// alibabaBlock: Server: Beaver and one of the page's markers. Without the
// Beaver header (a CDN in front may rewrite it) the beian-block link on
// aliyun.com together with a marker text is still unambiguous.
func alibabaBlock(a *answer) bool {
	marked := false
	for _, m := range alibabaMarkers {
		if bytes.Contains(a.body, m) {
			marked = true
			break
		}
	}
	if !marked {
		return false
	}
	return headerContains(a.header, "Server", "beaver") || bytes.Contains(a.body, alibabaLink) &&
		(bytes.Contains(a.body, alibabaMarkers[0]) || bytes.Contains(a.body, alibabaMarkers[2]))
}

// failure classifies a request that got no HTTP answer, and for a
// ProbeError says why. parent is the caller's context: when it ended, the
// probe proved nothing. A local failure is checked before the site's: a
// socket that could not be made says nothing of the site.
func (p *Prober) failure(parent, ctx context.Context, err error, phase string) (result, reason, detail string) {
	if parent.Err() != nil {
		return ProbeError, ReasonCancelled, fmt.Sprintf("probe cancelled (%s): %v", phase, context.Cause(parent))
	}
	if reason := localFailure(err); reason != "" {
		return ProbeError, reason, fmt.Sprintf("local failure on this host, not the site's (%s): %v", phase, err)
	}
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && !dnsErr.IsTimeout:
		return DNSError, "", dnsErr.Error()
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused, "", err.Error()
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return Refused, "", "no route: " + err.Error()
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		how := "closed by the peer"
		if errors.Is(err, syscall.ECONNRESET) {
			how = "reset by the peer"
		}
		if phase == phaseTLS {
			// The access provider's SNI block (package doc): the peer hangs up
			// on the ClientHello. Not called provider_block: a firewall or a
			// broken server look the same, only a block page names the provider.
			return Reset, "", fmt.Sprintf("connection %s after the TLS ClientHello (typical SNI block): %v", how, err)
		}
		return Reset, "", fmt.Sprintf("connection %s (%s): %v", how, phase, err)
	case ctx.Err() != nil, isTimeout(err):
		return Timeout, "", fmt.Sprintf("no answer within %s (%s)", p.timeout, phase)
	case phase == phaseTLS, isTLSFailure(err):
		return TLSError, "", err.Error()
	default:
		return HTTPError, "", fmt.Sprintf("no valid answer (%s): %v", phase, err)
	}
}

// localFailure is the ProbeError reason of err when this host, not the
// site, failed: the kernel refused a descriptor, a buffer or a local address.
func localFailure(err error) string {
	switch {
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return ReasonDescriptors
	case errors.Is(err, syscall.ENOBUFS), errors.Is(err, syscall.ENOMEM):
		return ReasonBuffers
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EADDRINUSE):
		return ReasonLocalAddress
	}
	var sys *os.SyscallError
	if errors.As(err, &sys) && (sys.Syscall == "socket" || sys.Syscall == "bind") {
		return ReasonLocalAddress // a socket this host could not make, for whatever errno
	}
	// The resolver keeps only the text of its own dial's error (net.DNSError
	// wraps context errors alone), so a lookup that could not open its
	// socket is told by that text.
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && !dnsErr.IsNotFound {
		for _, e := range []struct {
			errno  syscall.Errno
			reason string
		}{
			{syscall.EMFILE, ReasonDescriptors}, {syscall.ENFILE, ReasonDescriptors},
			{syscall.ENOBUFS, ReasonBuffers}, {syscall.ENOMEM, ReasonBuffers},
			{syscall.EADDRNOTAVAIL, ReasonLocalAddress},
		} {
			if strings.Contains(dnsErr.Err, e.errno.Error()) {
				return e.reason
			}
		}
	}
	return ""
}

func isTimeout(err error) bool {
	var netErr net.Error
	return errors.Is(err, errProbeTimeout) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &netErr) && netErr.Timeout()
}

func isTLSFailure(err error) bool {
	var verify *tls.CertificateVerificationError
	var record tls.RecordHeaderError
	return errors.As(err, &verify) || errors.As(err, &record)
}
