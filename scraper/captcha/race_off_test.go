//go:build !race

package captcha_test

// raceDetector says the tests run under -race.
const raceDetector = false
