package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsAreValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
}

func TestExampleConfigIsTheDefaults(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "deploy", "icpmon.yml"), "")
	if err != nil {
		t.Fatal(err)
	}
	d := Default()
	if c.Query.Timeout != d.Query.Timeout || c.Review.ProvinceLimits["浙"] != 30 || c.Reach.Grace != 24*time.Hour {
		t.Errorf("example config drifted from defaults: %+v", c)
	}
	// alerts/icpmon.rules.yml counts on it: a served site pages
	// within 15 minutes of the grace ending.
	if c.Reach.Schedule != d.Reach.Schedule || d.Reach.Schedule != "@every 5m" {
		t.Errorf("reach.schedule %q, default %q, want both @every 5m", c.Reach.Schedule, d.Reach.Schedule)
	}
	if c.Redis.URL != DefaultRedisURL {
		t.Errorf("redis.url = %q", c.Redis.URL)
	}
}

func TestEmptyFileGivesDefaults(t *testing.T) {
	c, err := parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(c.Query.ProviderList()) != "[miit]" || c.Web.ListenAddress != "127.0.0.1:9810" || c.Review.LimitBusinessDays != 20 {
		t.Errorf("unexpected defaults: %+v", c)
	}
}

func TestPartialFileKeepsOtherDefaults(t *testing.T) {
	c, err := parse([]byte("review:\n  limit_business_days: 15\n  province_limits: {粤: 25}\nquery:\n  min_interval: 10s\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Review.LimitBusinessDays != 15 || c.Review.ProvinceLimits["粤"] != 25 || c.Review.ProvinceLimits["浙"] != 30 {
		t.Errorf("review = %+v", c.Review)
	}
	if c.Query.MinInterval != 10*time.Second || c.Query.Timeout != 30*time.Second {
		t.Errorf("query = %+v", c.Query)
	}
}

// Each testdata/invalid-*.yml names its exact expected error in a sibling .err file.
func TestInvalidConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid-*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid configs: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want, err := os.ReadFile(strings.TrimSuffix(f, ".yml") + ".err")
			if err != nil {
				t.Fatal(err)
			}
			_, err = Load(f, "")
			if err == nil {
				t.Fatal("loaded without error")
			}
			got := strings.TrimPrefix(err.Error(), "config "+f+": ")
			if got != strings.TrimRight(string(want), "\n") {
				t.Errorf("error:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestRedisClientOptions(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		redis Redis
		addrs []string
		check func(t *testing.T, r Redis)
	}{
		{name: "default", redis: Redis{}, addrs: []string{"127.0.0.1:6379"}},
		{name: "url with password and db", redis: Redis{URL: "redis://:pw@10.0.0.1:6380/3"}, addrs: []string{"10.0.0.1:6380"},
			check: func(t *testing.T, r Redis) {
				o, _ := r.ClientOptions()
				if o.Password != "pw" || o.DB != 3 {
					t.Errorf("password %q db %d", o.Password, o.DB)
				}
			}},
		{name: "rediss turns TLS on", redis: Redis{URL: "rediss://h:6379"}, addrs: []string{"h:6379"},
			check: func(t *testing.T, r Redis) {
				if o, _ := r.ClientOptions(); o.TLSConfig == nil {
					t.Error("no TLS config")
				}
			}},
		{name: "password file wins", redis: Redis{URL: "redis://:old@h:1", PasswordFile: pw}, addrs: []string{"h:1"},
			check: func(t *testing.T, r Redis) {
				if o, _ := r.ClientOptions(); o.Password != "s3cret" || o.SentinelPassword != "s3cret" {
					t.Errorf("password %q", o.Password)
				}
			}},
		{name: "sentinel", redis: Redis{Addrs: []string{"a:26379", "b:26379"}, MasterName: "mymaster"}, addrs: []string{"a:26379", "b:26379"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := tc.redis.ClientOptions()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(o.Addrs, ",") != strings.Join(tc.addrs, ",") {
				t.Errorf("addrs %v, want %v", o.Addrs, tc.addrs)
			}
			if tc.check != nil {
				tc.check(t, tc.redis)
			}
		})
	}
	if _, err := (Redis{PasswordFile: filepath.Join(dir, "missing")}).ClientOptions(); err == nil {
		t.Error("missing password file accepted")
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"", "redis: {url: redis://h:1}", "query: {provider: html}", "reach: {resolve: {a: b}}"} {
		f.Add([]byte(p))
	}
	seeds, _ := filepath.Glob("testdata/*.yml")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parse(b)
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("Parse accepted a config that does not validate: %v", verr)
			}
		}
	})
}

func TestProvidersList(t *testing.T) {
	for doc, want := range map[string]string{
		"":                                  "[miit]",
		"query: {provider: ymicp}":          "[ymicp]",
		"query: {providers: [miit, ymicp]}": "[miit ymicp]",
		"query: {providers: [ymicp], ymicp: {url: 'http://127.0.0.1:1'}}": "[ymicp]",
	} {
		c, err := parse([]byte(doc))
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		if got := fmt.Sprint(c.Query.ProviderList()); got != want {
			t.Errorf("%q: providers %s, want %s", doc, got, want)
		}
	}
	for doc, want := range map[string]string{
		"query: {provider: miit, providers: [ymicp]}": "not both",
		"query: {providers: [miit, miit]}":            "listed twice",
		"query: {providers: [baidu]}":                 `got "baidu"`,
		"query: {providers: [html], html: {url: 'http://x/{query}', row_selector: tr, fields: {licence: td}, no_record_text: 无}}":                       "no_record_selector: required",
		"query: {providers: [html], html: {url: 'http://x/{query}', row_selector: tr, fields: {licence: td}, no_record_selector: p, next_selector: a}}": "needs total_selector",
	} {
		if _, err := parse([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error with %q", doc, err, want)
		}
	}
}
