package config

import (
	"strings"
	"testing"
)

// The domains limit is configurable and checked, and a province's
// two prefixes cannot carry two limits.
func TestTrackAndProvinceAliasKeys(t *testing.T) {
	c, err := parse(nil)
	if err != nil || c.Track.MaxDomains != 100 {
		t.Fatalf("default track.max_domains: %+v %v", c.Track, err)
	}
	if c, err := parse([]byte("track:\n  max_domains: 250\nreview:\n  province_limits: {浙: 30, 云: 25}\n")); err != nil || c.Track.MaxDomains != 250 {
		t.Errorf("track.max_domains 250: %v", err)
	}
	for doc, want := range map[string]string{
		"track:\n  max_domains: 0\n":                   "track.max_domains: want 1 to 1000, got 0",
		"track:\n  max_domains: 20000\n":               "track.max_domains: want 1 to 1000, got 20000",
		"track:\n  max_doms: 5\n":                      "field max_doms not found",
		"review:\n  province_limits: {云: 25, 滇: 30}\n": "review.province_limits: 云 and 滇 are one province: set one of them",
	} {
		if _, err := parse([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %s", doc, err, want)
		}
	}
}
