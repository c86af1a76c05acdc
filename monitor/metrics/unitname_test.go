package metrics

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The unit name rides on icpmon_cancellation_info as unit_name: set on
// every series, "" while no lookup named the unit, escaped as the format
// requires, and cut at a character when too long.
func TestUnitNameLabel(t *testing.T) {
	s := sample()
	s.Tracked[1].Record.UnitName = "浙江\"某\\某\"科技\n有限公司"
	s.Tracked[2].Record.UnitName = strings.Repeat("某", 200) // 600 bytes
	text := appendText(nil, s, AlertingSeries)

	g := gatherer(t, text)
	if problems, err := testutil.GatherAndLint(g); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", err, problems)
	}
	// 84 characters of 3 bytes and the ellipsis: 255 bytes.
	cut := strings.Repeat("某", 84) + "…"
	want := map[string]string{"a1": `""`, "b2": `"浙江\"某\\某\"科技\n有限公司"`, "c3": `"` + cut + `"`, "d4": `""`}
	for line := range strings.Lines(string(text)) {
		if !strings.HasPrefix(line, "icpmon_cancellation_info{") {
			continue
		}
		_, id, _ := strings.Cut(line, `id="`)
		id, _, _ = strings.Cut(id, `"`)
		if !strings.HasSuffix(line, ",unit_name="+want[id]+"} 1\n") {
			t.Errorf("%s: %s, want unit_name=%s", id, strings.TrimSpace(line), want[id])
		}
		delete(want, id)
	}
	if len(want) > 0 {
		t.Errorf("no info series for %v", want)
	}
	if len(cut) > maxUnitNameLabel {
		t.Errorf("the cut name is %d bytes, over %d", len(cut), maxUnitNameLabel)
	}
	if short := "小米科技有限责任公司"; unitNameLabel(short) != short {
		t.Errorf("unitNameLabel(%q) = %q", short, unitNameLabel(short))
	}

	if _, err := exec.LookPath("promtool"); err != nil {
		t.Fatalf("promtool is needed (make deps installs it): %v", err)
	}
	promtool := exec.CommandContext(t.Context(), "promtool", "check", "metrics")
	promtool.Stdin = strings.NewReader(string(text))
	if out, err := promtool.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
