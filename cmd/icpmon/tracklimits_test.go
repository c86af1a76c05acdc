package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// A regression: a 50 MB note and 20,000 domains were accepted by
// `track add` and `track import`.
func TestTrackLimits(t *testing.T) {
	url := redisURL(t)
	domainFlags := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, "--domain", fmt.Sprintf("d%d.example.cn", i))
		}
		return out
	}
	add := []string{"track", "add", "--redis-url", url, "--kind", "website", "--submitted", "2025-09-26"}

	long := strings.Repeat("x", 4097)
	if got := fails(t, append(add, "--licence", "京ICP备20250001号-1", "--note", long)...); got != "the note is 4097 bytes, more than the 4096 (4 KiB) a cancellation keeps: link to longer text instead" {
		t.Errorf("long note: %s", got)
	}
	if got := fails(t, append(append(add, "--licence", "京ICP备20250001号-1"), domainFlags(101)...)...); got != "101 domains is more than the 100 one cancellation may list (track.max_domains)" {
		t.Errorf("101 domains: %s", got)
	}
	// a domain given twice counts once
	ok(t, append(append(add, "--licence", "京ICP备20250001号-1", "--id", "hundred", "--note", long[:4096]), append(domainFlags(100), "--domain", "D0.example.cn")...)...)

	// track.max_domains
	small := writeFile(t, "small.yml", "track:\n  max_domains: 3\n")
	if got := fails(t, append(append(add, "--config", small, "--licence", "京ICP备20250002号-1"), domainFlags(4)...)...); got != "4 domains is more than the 3 one cancellation may list (track.max_domains)" {
		t.Errorf("track.max_domains 3: %s", got)
	}
	wide := writeFile(t, "wide.yml", "track:\n  max_domains: 150\n")
	ok(t, append(append(add, "--config", wide, "--licence", "京ICP备20250002号-1", "--id", "wide"), domainFlags(150)...)...)
	// track show keeps the whole list, which the metrics label cuts short
	var shown map[string]any
	if err := json.Unmarshal([]byte(ok(t, "track", "show", "wide", "-o", "json", "--redis-url", url)), &shown); err != nil {
		t.Fatal(err)
	}
	if d := shown["domains"].([]any); len(d) != 150 {
		t.Errorf("track show lists %d domains", len(d))
	}
	r := icpmon(t, "check-config", "--config", writeFile(t, "zero.yml", "track:\n  max_domains: 0\n"))
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "track.max_domains: want 1 to 1000, got 0") {
		t.Errorf("check-config: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// import: all or nothing, with the line of the first bad row
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("m%d.example.cn", i)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"domains.csv", "kind,licence,submitted,domain\nwebsite,京ICP备20250003号-1,2025-01-02,a.example.cn\nwebsite,京ICP备20250004号-1,2025-01-02,\"" + strings.Join(many, " ") + "\"\n",
			"line 3: 101 domains is more than the 100 one cancellation may list (track.max_domains)"},
		{"note.yml", "- kind: website\n  licence: 京ICP备20250003号-1\n  submitted: 2025-01-02\n- kind: website\n  licence: 京ICP备20250004号-1\n  submitted: 2025-01-02\n  note: " + long + "\n",
			"line 4: the note is 4097 bytes, more than the 4096 (4 KiB) a cancellation keeps: link to longer text instead"},
	} {
		file := writeFile(t, tc.name, tc.body)
		if got := fails(t, "track", "import", file, "--redis-url", url); got != file+": "+tc.want {
			t.Errorf("import %s: %s", tc.name, got)
		}
	}
	if list := listJSON(t, "--redis-url", url); len(list) != 2 {
		t.Errorf("refused commands wrote: %d cancellations", len(list))
	}
}

// A regression: 云ICP备12345681号-1 and 滇ICP备12345681号-1 (both
// Yunnan) were tracked as two active cancellations; 粤ICP备00000000号-1 was
// accepted.
func TestTrackProvinceAliases(t *testing.T) {
	url := redisURL(t)
	add := []string{"track", "add", "--redis-url", url, "--kind", "website", "--submitted", "2025-09-26"}
	ok(t, append(add, "--licence", "云ICP备12345681号-1", "--id", "first")...)
	for _, other := range []string{"滇ICP备12345681号-1", "云ICP备12345681号-1"} {
		if got := fails(t, append(add, "--licence", other)...); got != "licence "+other+" is already tracked by active cancellation first" {
			t.Errorf("add %s: %s", other, got)
		}
	}
	if got := fails(t, append(add, "--licence", "粤ICP备00000000号-1")...); got != "licence 粤ICP备00000000号-1: the number 00000000 is all zeros, which MIIT never issues" {
		t.Errorf("zero number: %s", got)
	}

	inFile := writeFile(t, "pair.csv", "kind,licence,submitted\nwebsite,黔ICP备12345682号-1,2025-01-02\nwebsite,贵ICP备12345682号-1,2025-01-02\n")
	if got := fails(t, "track", "import", inFile, "--redis-url", url); got != inFile+": line 3: licence 贵ICP备12345682号-1 is already on line 2" {
		t.Errorf("import of a pair: %s", got)
	}
	stored := writeFile(t, "stored.csv", "kind,licence,submitted\nwebsite,蜀ICP备12345683号-1,2025-01-02\nwebsite,滇ICP备12345681号-1,2025-01-02\n")
	if got := fails(t, "track", "import", stored, "--redis-url", url); got != stored+": line 3: licence 滇ICP备12345681号-1 is already tracked by active cancellation first; nothing was imported" {
		t.Errorf("import against the store: %s", got)
	}
	if list := listJSON(t, "--redis-url", url); len(list) != 1 || list[0]["licence"] != "云ICP备12345681号-1" {
		t.Errorf("tracked: %v", list)
	}

	// a limit set for 云 applies to 滇 numbers
	cfg := writeFile(t, "limits.yml", "review:\n  province_limits: {浙: 30, 云: 25}\n")
	ok(t, append(add, "--licence", "滇ICP备2020009854号-1", "--id", "dian")...)
	for _, item := range listJSON(t, "--redis-url", url, "--config", cfg) {
		if item["review_limit"] != 25.0 {
			t.Errorf("%s: review limit %v", item["id"], item["review_limit"])
		}
	}
}
