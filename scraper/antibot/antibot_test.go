package antibot

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/icpmon/icpmon/scraper"
)

func TestCheck(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name   string
		status int
		body   []byte
		want   scraper.Reason // "" = not an anti-bot answer
	}{
		{"创宇盾 page with 403", 403, read("knownsec-403.html"), scraper.WAFBlocked},
		{"创宇盾 page served with 200", 200, read("knownsec-403.html"), scraper.WAFBlocked},
		{"acw_sc__v2 challenge", 200, read("acw-challenge.html"), scraper.WAFBlocked},
		{"521 challenge", 521, read("jsl-521.html"), scraper.WAFBlocked},
		{"bare 403", 403, []byte("forbidden"), scraper.WAFBlocked},
		{"429", 429, nil, scraper.RateLimited},
		{"412", 412, nil, scraper.WAFBlocked},
		{"JSON naming Knownsec", 200, []byte(`{"unitName":"Knownsec CloudWAF 当前访问疑似黑客攻击"}`), ""},
		{"plain 200", 200, []byte("<html>ok</html>"), ""},
		{"500 left to the caller", 500, []byte("oops"), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Check(c.status, c.body)
			if c.want == "" {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if err == nil || scraper.ReasonOf(err) != c.want {
				t.Fatalf("Check = %v, want reason %s", err, c.want)
			}
		})
	}
}
