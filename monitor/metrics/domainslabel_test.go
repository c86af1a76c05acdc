package metrics

import (
	"fmt"
	"strings"
	"testing"

	"github.com/icpmon/icpmon/monitor/cancellation"
)

// A regression: 20,000 domains in one cancellation made a 369 KB label value.
func TestDomainsLabelBounded(t *testing.T) {
	s := sample()
	domains := make([]string, 20_000)
	for i := range domains {
		domains[i] = fmt.Sprintf("site%05d.example.com", i)
	}
	s.Tracked[0].Domains = domains
	text := string(appendText(nil, s, AllSeries))
	var info string
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, "icpmon_cancellation_info{") && strings.Contains(line, `id="a1"`) {
			info = line
		}
	}
	_, rest, _ := strings.Cut(info, `domains="`)
	value, _, _ := strings.Cut(rest, `"`)
	if len(value) > maxDomainsLabel || !strings.HasPrefix(value, "site00000.example.com,site00001.example.com,") {
		t.Fatalf("domains label of %d bytes: %.80s…", len(value), value)
	}
	kept := strings.Count(value, ".example.com")
	if want := fmt.Sprintf(",… (+%d more)", len(domains)-kept); !strings.HasSuffix(value, want) {
		t.Errorf("label ends %q, want %q", value[max(len(value)-40, 0):], want)
	}
	gatherer(t, []byte(text)) // still parses

	// a short list is whole, as before
	for _, d := range [][]string{nil, {"a.example"}, {"a.example", "b.example"}} {
		if got := domainsLabel(d); got != strings.Join(d, ",") {
			t.Errorf("domainsLabel(%v) = %q", d, got)
		}
	}
	// the default limit's worth of long names stays within the bound
	long := make([]string, cancellation.DefaultMaxDomains)
	for i := range long {
		long[i] = strings.Repeat("x", 60) + fmt.Sprintf("%03d.example.com", i)
	}
	if got := domainsLabel(long); len(got) > maxDomainsLabel || !strings.Contains(got, "more)") {
		t.Errorf("%d bytes: %q", len(got), got)
	}
}
