//go:build race

package faults_test

// raceEnabled says the suite runs with the race detector.
const raceEnabled = true
