//go:build race

package captcha_test

// raceDetector says the tests run under -race, which slows the solver's
// pixel loops some fifteenfold and finds nothing in them (one goroutine).
const raceDetector = true
