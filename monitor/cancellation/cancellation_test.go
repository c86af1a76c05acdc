package cancellation

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
)

func TestParseKindAndStatus(t *testing.T) {
	for _, k := range Kinds() {
		if got, err := ParseKind(string(k)); err != nil || got != k {
			t.Errorf("ParseKind(%s) = %s, %v", k, got, err)
		}
	}
	if _, err := ParseKind("domain"); err == nil || err.Error() != `unknown kind "domain" (want subject, website or access)` {
		t.Errorf("ParseKind(domain): %v", err)
	}
	for _, s := range Statuses() {
		if got, err := ParseStatus(string(s)); err != nil || got != s {
			t.Errorf("ParseStatus(%s) = %s, %v", s, got, err)
		}
	}
	if _, err := ParseStatus("done"); err == nil {
		t.Error("ParseStatus(done) accepted")
	}
}

func TestRecordState(t *testing.T) {
	yes, no := true, false
	for want, r := range map[string]Record{"unknown": {}, "present": {Present: &yes}, "absent": {Present: &no}} {
		if got := r.State(); got != want {
			t.Errorf("State() = %s, want %s", got, want)
		}
	}
}

func TestNewIDAndCheckID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if len(id) != idLength || CheckID(id) != nil || strings.Trim(id, idAlphabet) != "" {
			t.Fatalf("bad ID %q", id)
		}
		if seen[id] {
			t.Fatalf("repeated ID %q", id)
		}
		seen[id] = true
	}
	for _, ok := range []string{"a", "ALI-2026.001", "x_1", strings.Repeat("z", 64)} {
		if err := CheckID(ok); err != nil {
			t.Errorf("CheckID(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-a", ".a", "a b", "a:b", "a{b}", "例子", strings.Repeat("z", 65)} {
		if err := CheckID(bad); err == nil {
			t.Errorf("CheckID(%q) accepted", bad)
		}
	}
}

func TestValidate(t *testing.T) {
	if err := sample(Pending).Validate(); err != nil {
		t.Fatalf("valid sample: %v", err)
	}
	cases := []struct {
		change func(c *Cancellation)
		want   string
	}{
		{func(c *Cancellation) { c.ID = "" }, "empty ID"},
		{func(c *Cancellation) { c.Kind = "x" }, `cancellation abc123: unknown kind "x" (want subject, website or access)`},
		{func(c *Cancellation) { c.Status = "x" }, `cancellation abc123: unknown status "x" (want pending, approved, cleared, rejected or withdrawn)`},
		{func(c *Cancellation) { c.Licence = "京ICP备1号" }, "cancellation abc123: licence 京ICP备1号: ICP备 numbers have 8 or 10 digits, got 1"},
		{func(c *Cancellation) { c.Licence = "京ICP备12345678号－1" }, "cancellation abc123: licence 京ICP备12345678号－1 is not normalised (want 京ICP备12345678号-1)"},
		{func(c *Cancellation) { c.Licence = "京ICP备12345678号" }, "cancellation abc123: licence 京ICP备12345678号: a website cancellation needs a site number such as 京ICP备12345678号-1"},
		{func(c *Cancellation) { c.Province = "" }, `cancellation abc123: province "" is not a licence prefix (want one of ` + provinces + ")"},
		{func(c *Cancellation) { c.Domains = []string{"Example.com"} }, `cancellation abc123: domain "Example.com" is not normalised (want "example.com")`},
		{func(c *Cancellation) { c.Domains = []string{"a.cn", "a.cn"} }, "cancellation abc123: domain a.cn is listed twice"},
		{func(c *Cancellation) { c.Submitted = 0 }, "cancellation abc123: submitted date 1970-01-01 is before ICP filing began (2000-01-01)"},
		{func(c *Cancellation) { c.Status = Approved }, "cancellation abc123: approved without an approval time"},
	}
	for _, tc := range cases {
		c := sample(Pending)
		tc.change(&c)
		err := c.Validate()
		if err == nil || err.Error() != tc.want {
			t.Errorf("got %v\nwant %s", err, tc.want)
		}
	}
}

func TestCloneIsDeep(t *testing.T) {
	yes := true
	c := sample(Pending)
	c.Record = Record{Present: &yes, Licences: []string{"京ICP备12345678号-1"}}
	c.Probes = []Probe{{Domain: "example.com", Scheme: "https", Result: "served"}}
	c.ProbeHistory = []Probe{{Domain: "example.com", Scheme: "https", Result: "timeout"}}
	d := c.Clone()
	d.ProbeHistory[0].Result = "served"
	d.Domains[0] = "changed.cn"
	*d.Record.Present = false
	d.Record.Licences[0] = "x"
	d.Probes[0].Result = "timeout"
	if c.Domains[0] != "example.com" || !*c.Record.Present || c.Record.Licences[0] != "京ICP备12345678号-1" || c.Probes[0].Result != "served" || c.ProbeHistory[0].Result != "timeout" {
		t.Errorf("clone shares memory with the original: %+v", c)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	c := sample(Approved)
	c.ApprovedAt = time.Date(2026, time.October, 20, 0, 0, 0, 0, calendar.China)
	c.Record.UnitName = "小米科技有限责任公司"
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"submitted":"2026-10-09"`) {
		t.Errorf("submitted not a date: %s", b)
	}
	var back Cancellation
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Submitted != c.Submitted || !back.ApprovedAt.Equal(c.ApprovedAt) || back.Licence != c.Licence || back.Record.UnitName != c.Record.UnitName {
		t.Errorf("round trip: %+v", back)
	}
}

func TestCheckSubmitted(t *testing.T) {
	today := calendar.NewDate(2026, time.November, 27)
	if err := CheckSubmitted(today, today); err != nil {
		t.Errorf("today: %v", err)
	}
	if err := CheckSubmitted(earliestSubmission, today); err != nil {
		t.Errorf("2000-01-01: %v", err)
	}
	if err := CheckSubmitted(today+1, today); err == nil || err.Error() != "submitted date 2026-11-28 is in the future (today in China is 2026-11-27)" {
		t.Errorf("tomorrow: %v", err)
	}
	if err := CheckSubmitted(earliestSubmission-1, today); err == nil || err.Error() != "submitted date 1999-12-31 is before ICP filing began (2000-01-01)" {
		t.Errorf("1999: %v", err)
	}
}

// A regression: a 50 MB note and 20,000 domains were accepted.
func TestCheckLimits(t *testing.T) {
	c := Cancellation{ID: "n1", Note: strings.Repeat("x", MaxNoteBytes), Domains: make([]string, DefaultMaxDomains)}
	if err := c.CheckLimits(DefaultMaxDomains); err != nil {
		t.Errorf("at the limits: %v", err)
	}
	c.Note += "y"
	if err := c.CheckLimits(DefaultMaxDomains); err == nil || err.Error() != "cancellation n1: the note is 4097 bytes, more than the 4096 (4 KiB) a cancellation keeps: link to longer text instead" {
		t.Errorf("long note: %v", err)
	}
	c.Note = ""
	c.Domains = append(c.Domains, "one-more.example")
	if err := c.CheckLimits(DefaultMaxDomains); err == nil || err.Error() != "cancellation n1: 101 domains is more than the 100 one cancellation may list (track.max_domains)" {
		t.Errorf("many domains: %v", err)
	}
	if err := c.CheckLimits(200); err != nil {
		t.Errorf("a higher configured limit: %v", err)
	}
}
