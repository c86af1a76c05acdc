package harness

import (
	"os"
	"slices"
	"strings"
)

// Environ is the test's environment without ICPMON_REDIS_URL, which would
// win over the configuration a test gives icpmon.
func Environ() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "ICPMON_REDIS_URL=") })
}
