package statuspage

import (
	"fmt"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"github.com/icpmon/icpmon/monitor/calendar"
)

// when writes an instant in China time, as operators read their dates.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(calendar.China).Format("2006-01-02 15:04 MST")
}

// Duration writes a duration as people read it: 7.0 s, not 7.045630788s;
// 24h, not 24h0m0s. Every duration the pages show goes through it.
func Duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Round(time.Millisecond).Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	s := d.Round(time.Second).String()
	s = trimZero(s, "m0s")
	return trimZero(s, "h0m")
}

// trimZero drops the zero last unit of s ("1h0m" to "1h") when s ends in
// unit, a unit followed by a zero of the next smaller one.
func trimZero(s, unit string) string {
	if strings.HasSuffix(s, unit) {
		return s[:len(s)-len(unit)+1]
	}
	return s
}

// unicodeName is the Unicode form of an internationalised domain, "中国.cn"
// for "xn--fiqs8s.cn"; "" when d is not one (or is not a valid name).
func unicodeName(d string) string {
	if !strings.Contains(d, "xn--") {
		return ""
	}
	uni, err := idna.Display.ToUnicode(d)
	if err != nil || uni == d {
		return ""
	}
	return uni
}

// domainName shows an internationalised domain both ways, "xn--fiqs8s.cn
// (中国.cn)": operators type the Unicode form, DNS and logs use punycode.
func domainName(d string) string {
	ascii, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return d // shown as stored
	}
	if uni := unicodeName(ascii); uni != "" {
		return ascii + " (" + uni + ")"
	}
	return d
}
