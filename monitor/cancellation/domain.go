package cancellation

import (
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// DNS limits (RFC 1035) on the ASCII form of a name.
const (
	maxLabelLength = 63
	maxNameLength  = 253
)

// NormaliseDomain turns a domain as an operator typed it into the form the
// prober and the public query use: a host name of at least two labels,
// lower-case, internationalised names in punycode (xn--…), without a
// trailing dot. A URL, a port, user information, an IP address, a wildcard
// or an underscore is refused rather than guessed at: a website's host name
// never has them.
func NormaliseDomain(s string) (string, error) {
	in := strings.TrimSpace(s)
	fail := func(format string, args ...any) (string, error) {
		return "", fmt.Errorf("domain %q: %s", in, fmt.Sprintf(format, args...))
	}
	switch {
	case in == "":
		return "", fmt.Errorf("domain is empty")
	case !utf8.ValidString(in):
		return fail("not valid UTF-8")
	case strings.Contains(in, "://"):
		return fail("give the host name alone, without a scheme such as https://")
	case strings.ContainsAny(in, "/?#"):
		return fail("give the host name alone, without a path")
	case strings.Contains(in, "@"):
		return fail("give the host name alone, without user information")
	}
	if _, err := netip.ParseAddr(strings.Trim(in, "[]")); err == nil {
		return fail("an IP address is not a domain")
	}
	if strings.Contains(in, ":") {
		return fail("give the host name alone, without a port")
	}
	ascii, err := idna.Lookup.ToASCII(in)
	if err != nil {
		return fail("not a valid host name: %v", err)
	}
	ascii = strings.TrimSuffix(ascii, ".")
	// The ASCII form must itself be valid: the mapping can produce labels
	// (from U+FFFD, say) whose punycode decodes to something disallowed.
	if again, err := idna.Lookup.ToASCII(ascii); err != nil || again != ascii {
		return fail("not a valid host name")
	}
	if _, err := netip.ParseAddr(ascii); err == nil { // full-width digits and dots map to an address
		return fail("an IP address is not a domain")
	}
	if len(ascii) > maxNameLength {
		return fail("longer than %d characters in its ASCII form", maxNameLength)
	}
	labels := strings.Split(ascii, ".")
	if len(labels) < 2 {
		return fail("a single label is not a public domain name (want e.g. example.com)")
	}
	for _, l := range labels {
		switch {
		case l == "":
			return fail("empty label")
		case len(l) > maxLabelLength:
			return fail("label %q is longer than %d characters", l, maxLabelLength)
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fail("the top-level label %q is numeric", labels[len(labels)-1])
	}
	return ascii, nil
}

// NormaliseDomains normalises every domain and drops repeats, keeping the
// first occurrence's place.
func NormaliseDomains(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, d := range in {
		n, err := NormaliseDomain(d)
		if err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}
