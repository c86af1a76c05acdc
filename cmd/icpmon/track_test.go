package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/status"
	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/testing/redistest"
	"github.com/icpmon/icpmon/monitor/track"
)

type result struct {
	code           int
	stdout, stderr string
}

func icpmon(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(""), &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

// ok runs a command that must succeed and returns its stdout.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	r := icpmon(t, args...)
	if r.code != 0 {
		t.Fatalf("icpmon %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// fails runs a command that must fail with one line on stderr and nothing on
// stdout, and returns that line without the "icpmon: " prefix.
func fails(t *testing.T, args ...string) string {
	t.Helper()
	r := icpmon(t, args...)
	if r.code == 0 || r.stdout != "" {
		t.Fatalf("icpmon %s: exit %d, stdout %q", strings.Join(args, " "), r.code, r.stdout)
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "icpmon: ") {
		t.Fatalf("icpmon %s: want one line on stderr, got %q", strings.Join(args, " "), r.stderr)
	}
	return strings.TrimSuffix(strings.TrimPrefix(r.stderr, "icpmon: "), "\n")
}

// redisURL starts a private Redis and clears ICPMON_REDIS_URL, so that only
// the URL the test passes counts.
func redisURL(t *testing.T) string {
	t.Setenv("ICPMON_REDIS_URL", "")
	return redistest.Start(t).URL()
}

func listJSON(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := json.Unmarshal([]byte(ok(t, append([]string{"track", "list", "-o", "json"}, args...)...)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTrackAddAndList(t *testing.T) {
	url := redisURL(t)
	// flags after the subcommand, the global one included
	id := strings.TrimSpace(ok(t, "track", "add", "--kind", "website", "--licence", "京ICP备12345678号-1",
		"--domain", "Example.com", "--domain", "www.例子.中国", "--submitted", "2025-09-26", "--redis-url", url))
	if err := cancellation.CheckID(id); err != nil {
		t.Fatalf("printed ID %q: %v", id, err)
	}
	ok(t, "--redis-url", url, "track", "add", "--kind", "subject", "--licence", "浙ICP备2024026116号",
		"--submitted", "2025-10-09", "--id", "zj-1", "--note", "Zhejiang reviews take 30 days")

	list := listJSON(t, "--redis-url", url)
	if len(list) != 2 {
		t.Fatalf("%d listed", len(list))
	}
	for _, key := range []string{"id", "kind", "licence", "domains", "province", "submitted", "status",
		"review_deadline", "business_days_elapsed", "record", "approved"} {
		for _, item := range list {
			if _, ok := item[key]; !ok {
				t.Errorf("list item without %q: %v", key, item)
			}
		}
	}
	first := list[0]
	if first["id"] != id || first["licence"] != "京ICP备12345678号-1" || first["province"] != "京" || first["submitted"] != "2025-09-26" ||
		first["status"] != "pending" || first["record"] != "unknown" || first["approved"] != nil {
		t.Errorf("first %v", first)
	}
	if d := first["domains"].([]any); len(d) != 2 || d[0] != "example.com" || d[1] != "www.xn--fsqu00a.xn--fiqs8s" {
		t.Errorf("domains %v", d)
	}
	// 20 business days after 2025-09-26 end with 2025-10-30 (the 国庆 holidays in between)
	cal, err := calendar.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	today := calendar.DateOf(time.Now())
	if first["review_deadline"] != "2025-10-31T00:00:00+08:00" || first["review_limit"] != 20.0 || first["overdue"] != true ||
		first["business_days_elapsed"] != float64(cal.CountBusinessDays(calendar.NewDate(2025, time.September, 26), today)) {
		t.Errorf("review of the first: %v", first)
	}
	zj := list[1]
	if zj["id"] != "zj-1" || zj["review_limit"] != 30.0 || zj["kind"] != "subject" || len(zj["domains"].([]any)) != 0 {
		t.Errorf("zhejiang: %v", zj)
	}
	wantDeadline := cal.AddBusinessDays(calendar.NewDate(2025, time.October, 9), 30).End().Format(time.RFC3339)
	if zj["review_deadline"] != wantDeadline {
		t.Errorf("zhejiang deadline %v, want %s", zj["review_deadline"], wantDeadline)
	}

	if got := listJSON(t, "--redis-url", url, "--kind", "subject"); len(got) != 1 || got[0]["id"] != "zj-1" {
		t.Errorf("--kind subject: %v", got)
	}
	if got := listJSON(t, "--redis-url", url, "--status", "approved"); len(got) != 0 {
		t.Errorf("--status approved: %v", got)
	}

	table := ok(t, "track", "list", "--redis-url", url)
	lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID ") || !strings.Contains(lines[1], id) || !strings.HasPrefix(lines[2], "zj-1 ") {
		t.Fatalf("table:\n%s", table)
	}
	// Columns line up on a terminal, although licences hold wide characters.
	col := func(line, cell string) int { return displayWidth(line[:strings.Index(line, cell)]) }
	if a, b, c := col(lines[0], "SUBMITTED"), col(lines[1], "2025-09-26"), col(lines[2], "2025-10-09"); a != b || b != c {
		t.Errorf("SUBMITTED column at %d, %d, %d:\n%s", a, b, c, table)
	}
	if !strings.Contains(lines[1], "2025-10-30 overdue") {
		t.Errorf("deadline cell: %s", lines[1])
	}
}

// A deadline past the last official holiday schedule is marked and warned about.
func TestTrackListProvisional(t *testing.T) {
	url := redisURL(t)
	today := calendar.DateOf(time.Now())
	ok(t, "track", "add", "--redis-url", url, "--kind", "subject", "--licence", "浙ICP备12345678号", "--submitted", today.String())
	cal, err := calendar.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := status.Assess(cal, status.Limits{Default: 20, Province: map[string]int{"浙": 30}}, today, "浙", time.Now())
	r := icpmon(t, "track", "list", "--redis-url", url)
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	marked := strings.Contains(r.stdout, calendar.DateEndingAt(p.Deadline).String()+"*")
	if len(p.Provisional) == 0 {
		if marked || r.stderr != "" {
			t.Errorf("official deadline marked provisional:\n%s%s", r.stdout, r.stderr)
		}
		return
	}
	if !marked || !strings.HasPrefix(r.stderr, "icpmon: warning: "+strconv.Itoa(p.Provisional[0])) {
		t.Errorf("provisional deadline (%v) not marked or warned about:\n%s%s", p.Provisional, r.stdout, r.stderr)
	}
}

func TestTrackAddRefusals(t *testing.T) {
	url := redisURL(t)
	ok(t, "track", "add", "--redis-url", url, "--kind", "website", "--licence", "京ICP备12345678号-1", "--submitted", "2025-09-26", "--id", "first")
	tomorrow := calendar.DateOf(time.Now()).AddDays(2)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--kind", "subject", "--licence", "京ICP备12345678号-2", "--submitted", "2025-09-26"},
			"licence 京ICP备12345678号-2: a subject cancellation takes the subject number 京ICP备12345678号, without the site suffix -2"},
		{[]string{"--kind", "website", "--licence", "京ICP备12345678号", "--submitted", "2025-09-26"},
			"licence 京ICP备12345678号: a website cancellation needs a site number such as 京ICP备12345678号-1"},
		{[]string{"--kind", "website", "--licence", "京ICP备1234号-1", "--submitted", "2025-09-26"},
			"licence 京ICP备1234号-1: ICP备 numbers have 8 or 10 digits, got 4"},
		{[]string{"--kind", "website", "--licence", "京ICP备12345678号-3", "--submitted", tomorrow.String()},
			"submitted date " + tomorrow.String() + " is in the future (today in China is " + calendar.DateOf(time.Now()).String() + ")"},
		{[]string{"--kind", "website", "--licence", "京ICP备12345678号-3", "--submitted", "26/09/2025"},
			`submitted: invalid date "26/09/2025": want YYYY-MM-DD`},
		{[]string{"--kind", "access", "--licence", "京ＩＣＰ备12345678号－1", "--submitted", "2025-09-27"},
			"licence 京ICP备12345678号-1 is already tracked by active cancellation first"},
		{[]string{"--kind", "website", "--licence", "京ICP备12345678号-3", "--submitted", "2025-09-26", "--domain", "https://example.com/"},
			`domain "https://example.com/": give the host name alone, without a scheme such as https://`},
		{[]string{"--kind", "website", "--licence", "京ICP备12345678号-3", "--submitted", "2025-09-26", "--id", "first"},
			"ID first is already in use (IDs of removed cancellations are kept with their history)"},
		{[]string{"--kind", "website", "--licence", "京ICP备12345678号-3", "--submitted", "2025-09-26", "--id", "a b"},
			`ID "a b": use letters, digits, '.', '_' and '-', starting with a letter or digit`},
		{[]string{"--kind", "website", "--licence", "京ICP备12345678号-3", "--submitted", "2025-09-26", "--province", "台"},
			`province "台": want a one-character licence prefix, one of ` + strings.Join(cancellation.Provinces(), "")},
	}
	for _, tc := range cases {
		got := fails(t, append([]string{"track", "add", "--redis-url", url}, tc.args...)...)
		if got != tc.want {
			t.Errorf("add %v:\n got %s\nwant %s", tc.args, got, tc.want)
		}
	}
	if r := icpmon(t, "track", "add", "--redis-url", url, "--kind", "domain", "--licence", "x", "--submitted", "2025-09-26"); r.code == 0 {
		t.Error("unknown kind accepted")
	}
	if list := listJSON(t, "--redis-url", url); len(list) != 1 {
		t.Errorf("refused adds wrote: %v", list)
	}
}

func TestTrackTransitions(t *testing.T) {
	url := redisURL(t)
	add := func(id, licence string) {
		ok(t, "track", "add", "--redis-url", url, "--kind", "website", "--licence", licence, "--submitted", "2025-09-26", "--id", id)
	}
	add("a", "京ICP备12345678号-1")
	add("b", "京ICP备12345678号-2")
	add("c", "京ICP备12345678号-3")
	future := calendar.DateOf(time.Now()).AddDays(1).String()

	if got := fails(t, "track", "approve", "a", "--at", future, "--redis-url", url); got != "cannot approve a on "+future+": the date is in the future (today in China is "+calendar.DateOf(time.Now()).String()+")" {
		t.Errorf("future approval: %s", got)
	}
	if got := fails(t, "track", "approve", "a", "--at", "2025-09-25", "--redis-url", url); got != "cannot approve a on 2025-09-25: it was submitted on 2025-09-26" {
		t.Errorf("approval before submission: %s", got)
	}
	if out := ok(t, "track", "approve", "a", "--at", "2025-10-20", "--redis-url", url); out != "a: pending -> approved\n" {
		t.Errorf("approve: %q", out)
	}
	if got := fails(t, "track", "reject", "a", "--redis-url", url); got != "cannot reject a: it is approved" {
		t.Errorf("reject after approval: %s", got)
	}
	if got := fails(t, "track", "approve", "a", "--redis-url", url); got != "cannot approve a: it is already approved" {
		t.Errorf("approve twice: %s", got)
	}
	ok(t, "track", "approve", "b", "--redis-url", url) // today
	ok(t, "track", "reject", "c", "--redis-url", url)
	if got := fails(t, "track", "withdraw", "c", "--redis-url", url); got != "cannot withdraw c: it is rejected" {
		t.Errorf("withdraw after rejection: %s", got)
	}

	list := listJSON(t, "--redis-url", url)
	byID := map[string]map[string]any{}
	for _, item := range list {
		byID[item["id"].(string)] = item
	}
	if byID["a"]["status"] != "approved" || byID["a"]["approved"] != "2025-10-20" || byID["a"]["review_deadline"] != nil || byID["a"]["business_days_elapsed"] != nil {
		t.Errorf("a: %v", byID["a"])
	}
	if byID["b"]["approved"] != calendar.DateOf(time.Now()).String() || byID["c"]["status"] != "rejected" {
		t.Errorf("b, c: %v %v", byID["b"], byID["c"])
	}

	var shown struct {
		Status     string               `json:"status"`
		ApprovedAt string               `json:"approved_at"`
		ApprovedBy string               `json:"approved_by"`
		Checks     map[string]any       `json:"checks"`
		History    []cancellation.Event `json:"history"`
	}
	if err := json.Unmarshal([]byte(ok(t, "track", "show", "a", "-o", "json", "--redis-url", url)), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.ApprovedAt != "2025-10-20T00:00:00+08:00" || shown.ApprovedBy != "operator" || len(shown.History) != 2 {
		t.Errorf("show a: %+v", shown)
	}
	for _, key := range []string{"record", "probes", "probe_history"} {
		if _, ok := shown.Checks[key]; !ok {
			t.Errorf("checks without %s: %v", key, shown.Checks)
		}
	}
	if e := shown.History[1]; e.Action != "approve" || e.Actor != operator() || !strings.HasPrefix(e.Actor, "operator:") || e.From != "pending" || e.To != "approved" {
		t.Errorf("approve event %+v", e)
	}
	table := ok(t, "track", "show", "a", "--redis-url", url)
	for _, want := range []string{"ID:         a\n", "Status:     approved\n", "History:\n", "approve  pending -> approved  approved on 2025-10-20"} {
		if !strings.Contains(table, want) {
			t.Errorf("show table lacks %q:\n%s", want, table)
		}
	}

	if out := ok(t, "track", "remove", "c", "--redis-url", url); out != "c: removed; its history is kept\n" {
		t.Errorf("remove: %q", out)
	}
	if got := fails(t, "track", "show", "c", "--redis-url", url); !strings.HasPrefix(got, "cancellation c was removed on ") || !strings.HasSuffix(got, " by "+operator()) {
		t.Errorf("show removed: %s", got)
	}
	if got := fails(t, "track", "remove", "c", "--redis-url", url); !strings.HasPrefix(got, "cancellation c was removed on ") {
		t.Errorf("remove twice: %s", got)
	}
	if got := fails(t, "track", "approve", "nosuch", "--redis-url", url); got != "no such cancellation: nosuch" {
		t.Errorf("unknown ID: %s", got)
	}
	if list := listJSON(t, "--redis-url", url); len(list) != 2 {
		t.Errorf("%d listed after removal", len(list))
	}
}

// The flag wins over ICPMON_REDIS_URL, which wins over the file.
func TestRedisURLPrecedence(t *testing.T) {
	fileSrv, envSrv, flagSrv := redistest.Start(t), redistest.Start(t), redistest.Start(t)
	cfg := filepath.Join(t.TempDir(), "icpmon.yml")
	if err := os.WriteFile(cfg, []byte("redis:\n  url: "+fileSrv.URL()+"\n  key_prefix: icpmon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	add := func(id string, extra ...string) {
		t.Helper()
		ok(t, append([]string{"track", "add", "--config", cfg, "--kind", "website", "--licence", "京ICP备12345678号-1", "--submitted", "2025-09-26", "--id", id}, extra...)...)
	}
	t.Setenv("ICPMON_REDIS_URL", "")
	add("from-file")
	t.Setenv("ICPMON_REDIS_URL", envSrv.URL())
	add("from-env")
	add("from-flag", "--redis-url", flagSrv.URL())

	for srv, want := range map[*redistest.Server]string{fileSrv: "from-file", envSrv: "from-env", flagSrv: "from-flag"} {
		st := store.New(srv.Client(t), "icpmon")
		all, err := st.List(t.Context(), store.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 1 || all[0].ID != want {
			t.Errorf("%s holds %v, want only %s", srv, all, want)
		}
	}
	if got := fails(t, "track", "list", "--redis-url", "http://example.com"); !strings.HasPrefix(got, "--redis-url (or ICPMON_REDIS_URL): redis.url: want a redis:// or rediss:// URL") {
		t.Errorf("bad URL: %s", got)
	}
}

func TestRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	url := srv.URL()
	t.Setenv("ICPMON_REDIS_URL", "")
	srv.Stop()
	got := fails(t, "track", "list", "--redis-url", url)
	if !strings.HasPrefix(got, "cannot reach Redis at "+srv.Addr+": ") {
		t.Errorf("Redis down: %s", got)
	}
	// Bad input is said to be bad even while Redis is down.
	got = fails(t, "track", "add", "--kind", "website", "--licence", "京ICP备123号-1", "--submitted", "2025-01-02", "--redis-url", url)
	if strings.Contains(got, "Redis") || !strings.Contains(got, "licence") {
		t.Errorf("bad licence with Redis down: %s", got)
	}
}

func TestTrackImport(t *testing.T) {
	for file, n := range map[string]int{"testdata/import/good.csv": 4, "testdata/import/good.yml": 3} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			url := redisURL(t)
			if out := ok(t, "track", "import", file, "--redis-url", url); out != fmt.Sprintf("imported %d cancellations\n", n) {
				t.Errorf("stdout %q", out)
			}
			list := listJSON(t, "--redis-url", url)
			byLicence := map[string]map[string]any{}
			for _, item := range list {
				byLicence[item["licence"].(string)] = item
			}
			web := byLicence["京ICP备20250001号-1"]
			if len(list) != n || web["id"] != "imp-1" || len(web["domains"].([]any)) != 2 {
				t.Errorf("website: %v", web)
			}
			if byLicence["浙ICP备12345678号"]["kind"] != "subject" || byLicence["沪ICP备2025152989号-1A"]["province"] != "沪" {
				t.Errorf("imported %v", list)
			}
			// importing the same file again is refused whole, at its first row
			got := fails(t, "track", "import", file, "--redis-url", url)
			if !strings.HasPrefix(got, file+": line 2: ") || !strings.HasSuffix(got, "; nothing was imported") {
				t.Errorf("second import: %s", got)
			}
			if again := listJSON(t, "--redis-url", url); len(again) != len(list) {
				t.Errorf("second import wrote: %d, then %d", len(list), len(again))
			}
		})
	}
}

func TestTrackImportRefusals(t *testing.T) {
	url := redisURL(t)
	ok(t, "track", "add", "--redis-url", url, "--kind", "website", "--licence", "粤ICP备2024026116号-2", "--submitted", "2025-09-26", "--id", "held")
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	future := calendar.DateOf(time.Now()).AddDays(3).String()
	cases := []struct {
		file string
		want string
	}{
		{"testdata/import/bad-kind.csv", "testdata/import/bad-kind.csv: line 3: licence 京ICP备20250002号-1: a subject cancellation takes the subject number 京ICP备20250002号, without the site suffix -1"},
		{"testdata/import/bad-duplicate.yml", "testdata/import/bad-duplicate.yml: line 7: licence 京ICP备20250001号-1 is already on line 1"},
		{"testdata/import/good.csv", "testdata/import/good.csv: line 3: licence 粤ICP备2024026116号-2 is already tracked by active cancellation held; nothing was imported"},
		{write("future.csv", "kind,licence,submitted\nwebsite,京ICP备20250009号-1,"+future+"\n"),
			"future.csv: line 2: submitted date " + future + " is in the future (today in China is " + calendar.DateOf(time.Now()).String() + ")"},
		{write("columns.csv", "kind,licence,submitted,colour\n"), `columns.csv: line 1: unknown column "colour" (want kind, licence, domain, submitted, id, province, note)`},
		{write("missing.csv", "kind,licence\n"), "missing.csv: line 1: missing column submitted"},
		{write("short.csv", "kind,licence,submitted\nwebsite,京ICP备20250009号-1\n"), "short.csv: line 2: 2 cells, but the header names 3 columns"},
		{write("quote.csv", "kind,licence,submitted\nwebsite,\"京ICP备20250009号-1,2025-01-01\n"), `quote.csv: line 2: extraneous or missing " in quoted-field`},
		{write("empty.csv", ""), "empty.csv: the file is empty: want a header row naming kind, licence, domain, submitted, id, province, note"},
		{write("header.csv", "kind,licence,submitted\n"), "header.csv: no cancellations to import"},
		{write("ids.csv", "kind,licence,submitted,id\nwebsite,京ICP备20250009号-1,2025-01-02,x\nwebsite,京ICP备20250009号-2,2025-01-02,x\n"), "ids.csv: line 3: ID x is already used on line 2"},
		{write("map.yml", "kind: website\n"), "map.yml: line 1: want a list of cancellations"},
		{write("key.yml", "- kind: website\n  licence: 京ICP备20250009号-1\n  submited: 2025-01-02\n"), `key.yml: line 3: unknown key "submited" (want kind, licence, domain, submitted, id, province, note)`},
		{write("nokind.yml", "- licence: 京ICP备20250009号-1\n  submitted: 2025-01-02\n"), "nokind.yml: line 1: kind is missing (want subject, website or access)"},
		{write("nested.yml", "- kind: [website]\n"), "nested.yml: line 1: kind: want a single value"},
		{write("syntax.yml", "- kind: website\n licence: x\n"), "syntax.yml: yaml: line 1: did not find expected '-' indicator"},
		{write("list.txt", "x"), "list.txt: want a .csv, .yml or .yaml file"},
		{filepath.Join(dir, "absent.csv"), "import: open " + filepath.Join(dir, "absent.csv") + ": no such file or directory"},
	}
	for _, tc := range cases {
		got := fails(t, "track", "import", tc.file, "--redis-url", url)
		want := tc.want
		if !strings.HasPrefix(want, "testdata/") && !strings.HasPrefix(want, "import:") {
			want = filepath.Join(dir, want)
		}
		if got != want {
			t.Errorf("import %s:\n got %s\nwant %s", filepath.Base(tc.file), got, want)
		}
	}
	if list := listJSON(t, "--redis-url", url); len(list) != 1 {
		t.Errorf("refused imports wrote: %v", list)
	}
}

func TestParseImportAgreesAcrossFormats(t *testing.T) {
	read := func(name string) []importRow {
		b, err := os.ReadFile(filepath.Join("testdata", "import", name))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := parseImport(name, b)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	csvRows, yamlRows := read("good.csv"), read("good.yml")
	if lines := []int{csvRows[0].line, csvRows[1].line, csvRows[2].line, csvRows[3].line}; !slices.Equal(lines, []int{2, 3, 5, 6}) {
		t.Errorf("CSV lines %v", lines)
	}
	if lines := []int{yamlRows[0].line, yamlRows[1].line, yamlRows[2].line}; !slices.Equal(lines, []int{2, 8, 11}) {
		t.Errorf("YAML lines %v", lines)
	}
	a, b := csvRows[0].spec, yamlRows[0].spec
	if a.Kind != b.Kind || a.Licence != b.Licence || !slices.Equal(a.Domains, b.Domains) || a.Submitted != b.Submitted || a.ID != b.ID || a.Note != b.Note {
		t.Errorf("first rows differ:\n%+v\n%+v", a, b)
	}
	if d := csvRows[1].spec.Domains; !slices.Equal(d, []string{"a.example.cn", "b.example.cn"}) {
		t.Errorf("semicolon-separated domains: %v", d)
	}
	if csvRows[2].spec.Note != "a note, with a comma" {
		t.Errorf("quoted note: %q", csvRows[2].spec.Note)
	}
}

// Every import key fills its own field of the spec, in both formats.
func TestEveryImportKeyFillsTheSpec(t *testing.T) {
	want := track.Spec{Kind: "v-kind", Licence: "v-licence", Domains: []string{"v-domain"}, Submitted: "v-submitted",
		ID: "v-id", Province: "v-province", Note: "v-note"}
	var csvValues, yamlLines []string
	for _, k := range importKeys {
		csvValues = append(csvValues, "v-"+k)
		yamlLines = append(yamlLines, fmt.Sprintf("  %s: v-%s", k, k))
	}
	files := map[string]string{
		"all.csv": strings.Join(importKeys, ",") + "\n" + strings.Join(csvValues, ",") + "\n",
		"all.yml": "-" + strings.TrimPrefix(strings.Join(yamlLines, "\n"), " ") + "\n",
	}
	for name, text := range files {
		rows, err := parseImport(name, []byte(text))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(rows) != 1 || !reflect.DeepEqual(rows[0].spec, want) {
			t.Errorf("%s: %+v, want one row %+v", name, rows, want)
		}
	}
}
