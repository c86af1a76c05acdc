package assemble

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/icpmon/icpmon/monitor/config"
)

func TestBuildsEveryPartOfTheDefaults(t *testing.T) {
	cfg := config.Default()
	parts, problems := Build(&cfg, Options{})
	if len(problems) > 0 {
		t.Fatalf("defaults: %v", problems)
	}
	if parts.Calendar == nil || parts.Redis == nil || parts.Chain == nil || parts.Prober == nil {
		t.Fatalf("a part is missing: %+v", parts)
	}
}

func TestReportsEveryProblemWithItsKey(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	cfg := config.Default()
	cfg.Calendar.ExtraFiles = []string{missing + ".json"}
	cfg.Reach.CAFile = missing + ".pem"
	cfg.Redis.PasswordFile = missing + ".password"
	_, problems := Build(&cfg, Options{})
	var keys []string
	for _, p := range problems {
		keys = append(keys, p.Key)
	}
	want := []string{"calendar.extra_files", "redis.password_file", "reach.ca_file"}
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Fatalf("problems about %q, want %q:\n%v", keys, want, problems)
	}
}

// A key check-config has already reported is not built, and so not
// reported twice; a reported Redis topology still has its files read.
func TestSkipsWhatWasReported(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	cfg := config.Default()
	cfg.Reach.CAFile = missing + ".pem"
	cfg.Redis.PasswordFile = missing + ".password"
	reported := config.Problems{{Key: "reach.ca_file", Message: "x"}, {Key: "redis.addrs", Message: "y"}}
	_, problems := Build(&cfg, Options{Reported: reported})
	if len(problems) != 1 || problems[0].Key != "redis.password_file" {
		t.Fatalf("got %v, want only redis.password_file", problems)
	}
}
