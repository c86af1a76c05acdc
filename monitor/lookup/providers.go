package lookup

import (
	"fmt"
	"log/slog"

	"github.com/icpmon/icpmon/monitor/config"
	"github.com/icpmon/icpmon/scraper"
	"github.com/icpmon/icpmon/scraper/captcha"
	"github.com/icpmon/icpmon/scraper/htmlpage"
	"github.com/icpmon/icpmon/scraper/miit"
	"github.com/icpmon/icpmon/scraper/polite"
	"github.com/icpmon/icpmon/scraper/ymicp"
)

// Hooks let the daemon count what happens inside a provider.
type Hooks struct {
	// OnCaptcha is told each slider captcha's outcome: miit.CaptchaSolved,
	// miit.CaptchaRefused or miit.CaptchaNoGuess.
	OnCaptcha func(provider, result string)
}

// NewProviders builds the configured providers, in order, each behind its
// own rate limit and backoff. Build them once per configuration: each
// wrapper is the one limiter for its provider's host.
func NewProviders(q config.Query, logger *slog.Logger, hooks Hooks) ([]scraper.Provider, error) {
	var out []scraper.Provider
	for _, name := range q.ProviderList() {
		p, err := newProvider(name, q, logger, hooks)
		if err != nil {
			return nil, fmt.Errorf("query.%s: %w", name, err)
		}
		out = append(out, polite.Wrap(p, polite.Options{MinInterval: q.MinInterval, ParkMin: q.Park, Logger: logger}))
	}
	return out, nil
}

func newProvider(name string, q config.Query, logger *slog.Logger, hooks Hooks) (scraper.Provider, error) {
	switch name {
	case "miit":
		var solver captcha.Solver = captcha.Slider{}
		if q.MIIT.Captcha == "command" {
			var err error
			if solver, err = captcha.NewCommand(captcha.CommandOptions{Argv: q.MIIT.CaptchaCommand}); err != nil {
				return nil, fmt.Errorf("captcha_command: %w", err)
			}
		}
		var onCaptcha func(string)
		if hooks.OnCaptcha != nil {
			onCaptcha = func(result string) { hooks.OnCaptcha(name, result) }
		}
		return miit.New(miit.Options{BaseURL: q.MIIT.BaseURL, Timeout: q.Timeout, Solver: solver, Logger: logger,
			OnCaptcha: onCaptcha, DebugDir: q.MIIT.DebugDir})
	case "html":
		o := q.HTML
		o.Timeout, o.Logger = q.Timeout, logger
		return htmlpage.New(o)
	case "ymicp":
		return ymicp.New(ymicp.Options{URL: q.YMICP.URL, Timeout: q.Timeout, Logger: logger})
	}
	return nil, fmt.Errorf("unknown provider %q", name)
}
