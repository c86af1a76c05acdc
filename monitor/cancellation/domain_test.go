package cancellation

import (
	"strings"
	"testing"
)

func TestNormaliseDomain(t *testing.T) {
	cases := map[string]string{
		"example.com":                    "example.com",
		"  WWW.Example.COM  ":            "www.example.com",
		"example.com.":                   "example.com",
		"例子.中国":                          "xn--fsqu00a.xn--fiqs8s",
		"www.例子。中国":                      "www.xn--fsqu00a.xn--fiqs8s",
		"ＥＸＡＭＰＬＥ．ｃｏｍ":                    "example.com",
		"xn--fsqu00a.xn--fiqs8s":         "xn--fsqu00a.xn--fiqs8s",
		"a-b.example.cn":                 "a-b.example.cn",
		"123.example.com":                "123.example.com",
		strings.Repeat("a", 63) + ".com": strings.Repeat("a", 63) + ".com",
	}
	for in, want := range cases {
		got, err := NormaliseDomain(in)
		if err != nil {
			t.Errorf("NormaliseDomain(%q): %v", in, err)
			continue
		}
		if got != want {
			t.Errorf("NormaliseDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormaliseDomainErrors(t *testing.T) {
	long := strings.Repeat(strings.Repeat("a", 60)+".", 5) + "com" // 308 characters
	cases := map[string]string{
		"":                               "domain is empty",
		"https://example.com":            `domain "https://example.com": give the host name alone, without a scheme such as https://`,
		"example.com/path":               `domain "example.com/path": give the host name alone, without a path`,
		"example.com?q=1":                `domain "example.com?q=1": give the host name alone, without a path`,
		"user@example.com":               `domain "user@example.com": give the host name alone, without user information`,
		"example.com:8080":               `domain "example.com:8080": give the host name alone, without a port`,
		"192.0.2.1":                      `domain "192.0.2.1": an IP address is not a domain`,
		"[2001:db8::1]":                  `domain "[2001:db8::1]": an IP address is not a domain`,
		"2001:db8::1":                    `domain "2001:db8::1": an IP address is not a domain`,
		"１９２．０．２．１":                      `domain "１９２．０．２．１": an IP address is not a domain`,
		"localhost":                      `domain "localhost": a single label is not a public domain name (want e.g. example.com)`,
		"a..example.com":                 `domain "a..example.com": empty label`,
		strings.Repeat("a", 64) + ".com": `domain "` + strings.Repeat("a", 64) + `.com": label "` + strings.Repeat("a", 64) + `" is longer than 63 characters`,
		long:                             `domain "` + long + `": longer than 253 characters in its ASCII form`,
		"example.123":                    `domain "example.123": the top-level label "123" is numeric`,
		"0.\xbd":                         `domain "0.\xbd": not valid UTF-8`,
	}
	for in, want := range cases {
		_, err := NormaliseDomain(in)
		if err == nil {
			t.Errorf("NormaliseDomain(%q) accepted", in)
			continue
		}
		if err.Error() != want {
			t.Errorf("NormaliseDomain(%q):\n got %s\nwant %s", in, err, want)
		}
	}
	// idna's own refusals: the message names the domain and says why.
	for _, in := range []string{"under_score.example.com", "*.example.com", "-lead.example.com", "sp ace.example.com", "xn--zz.example.com"} {
		_, err := NormaliseDomain(in)
		if err == nil {
			t.Errorf("NormaliseDomain(%q) accepted", in)
			continue
		}
		if !strings.HasPrefix(err.Error(), `domain "`+in+`": not a valid host name: `) {
			t.Errorf("NormaliseDomain(%q): %v", in, err)
		}
	}
}

func TestNormaliseDomains(t *testing.T) {
	got, err := NormaliseDomains([]string{"B.example.com", "a.example.com", "b.example.com."})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "b.example.com,a.example.com" {
		t.Errorf("got %v", got)
	}
	if _, err := NormaliseDomains([]string{"a.example.com", "bad"}); err == nil {
		t.Error("a bad domain in the list was accepted")
	}
}

// FuzzNormaliseDomain: an accepted domain is plain lower-case ASCII within
// DNS limits, and normalising it again changes nothing.
func FuzzNormaliseDomain(f *testing.F) {
	for _, s := range []string{"example.com", "例子.中国", "ＥＸＡＭＰＬＥ．ｃｏｍ", "a..b", "1.2.3.4", "xn--fsqu00a.xn--fiqs8s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormaliseDomain(in)
		if err != nil {
			return
		}
		if len(out) > maxNameLength || strings.Trim(out, "abcdefghijklmnopqrstuvwxyz0123456789-.") != "" {
			t.Fatalf("NormaliseDomain(%q) = %q: not a lower-case ASCII host name", in, out)
		}
		again, err := NormaliseDomain(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", in, out, again, err)
		}
	})
}
