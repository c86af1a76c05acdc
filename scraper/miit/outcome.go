package miit

import (
	"github.com/icpmon/icpmon/scraper/captcha"
)

// The outcomes of one captcha, as Options.OnCaptcha receives them: a closed
// set, meant as a metric label.
const (
	// CaptchaSolved: checkImage accepted the solver's answer.
	CaptchaSolved = "solved"
	// CaptchaRefused: checkImage refused it (success false, a wrong answer).
	CaptchaRefused = "refused"
	// CaptchaNoGuess: the solver declined to answer (captcha.ErrNoGuess),
	// which costs no request.
	CaptchaNoGuess = "no_guess"
)

// captchaSolverError marks, in the debug directory only, a captcha the solver
// failed on for another reason (an image it could not read, a command that
// crashed or timed out): not a solver outcome, but worth a bug report.
const captchaSolverError = "solver_error"

// CaptchaResults lists every outcome OnCaptcha may receive, for pre-setting
// metric series.
func CaptchaResults() []string { return []string{CaptchaSolved, CaptchaRefused, CaptchaNoGuess} }

// captchaOutcome reports a captcha's outcome to OnCaptcha and keeps a failed
// one in the debug directory. guess is nil when the solver gave none.
func (c *Client) captchaOutcome(outcome, uuid string, p captcha.Puzzle, guess *int, cause error) {
	if c.onCaptcha != nil && outcome != captchaSolverError {
		c.onCaptcha(outcome)
	}
	if outcome != CaptchaSolved {
		c.debug.save(c.now(), outcome, uuid, p, guess, cause)
	}
}
