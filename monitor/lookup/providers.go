package sweep

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

// NewProvider builds the configured provider behind its rate limit and
// backoff. Build it once per configuration: the wrapper is the one limiter
// for the provider's host.
func NewProvider(q config.Query, logger *slog.Logger) (*polite.Provider, error) {
	var (
		p   scraper.Provider
		err error
	)
	switch q.Provider {
	case "miit":
		var solver captcha.Solver = captcha.Slider{}
		if q.MIIT.Captcha == "command" {
			if solver, err = captcha.NewCommand(captcha.CommandOptions{Argv: q.MIIT.CaptchaCommand}); err != nil {
				return nil, fmt.Errorf("query.miit.captcha_command: %w", err)
			}
		}
		p, err = miit.New(miit.Options{BaseURL: q.MIIT.BaseURL, Timeout: q.Timeout, Solver: solver, Logger: logger})
	case "html":
		p, err = htmlpage.New(htmlpage.Options{
			URL: q.HTML.URL, RowSelector: q.HTML.RowSelector, Fields: q.HTML.Fields,
			NoRecordSelector: q.HTML.NoRecordSelector, NoRecordText: q.HTML.NoRecordText,
			Headers: q.HTML.Headers, Timeout: q.Timeout, Logger: logger,
		})
	case "ymicp":
		p, err = ymicp.New(ymicp.Options{URL: q.YMICP.URL, Timeout: q.Timeout, Logger: logger})
	default:
		return nil, fmt.Errorf("query.provider: unknown provider %q", q.Provider)
	}
	if err != nil {
		return nil, fmt.Errorf("query.%s: %w", q.Provider, err)
	}
	return polite.Wrap(p, polite.Options{MinInterval: q.MinInterval, ParkMin: q.Park, Logger: logger}), nil
}
