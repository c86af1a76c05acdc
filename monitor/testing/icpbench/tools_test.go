package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckToolsNamesWhatIsMissing(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	o := options{only: []string{"store", "reach"}}

	err := checkTools(o)
	if err == nil {
		t.Fatal("checkTools with an empty PATH: no error")
	}
	for _, want := range []string{"redis-server", "redis-benchmark (Debian package redis-tools)", "prometheus-blackbox-exporter", "wrk", "make bench"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}

	for _, bin := range []string{"redis-server", "redis-benchmark", "prometheus-blackbox-exporter", "wrk"} {
		if err := os.WriteFile(filepath.Join(dir, bin), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := checkTools(o); err != nil {
		t.Errorf("checkTools with every tool on PATH: %v", err)
	}
	if err := checkTools(options{only: []string{"calendar"}}); err != nil {
		t.Errorf("the calendar figure runs no tool, yet: %v", err)
	}
}
