package cancellation

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Licence is a parsed ICP filing number (备案号) or operating licence (经营许可证).
type Licence struct {
	Raw      string // as given
	Number   string // normalised, e.g. 京ICP备12345678号-3 or 粤B2-20090059-5
	Province string // the one-character prefix, e.g. 京; keys review.province_limits
	Subject  string // the subject number: Number without the site suffix
	Site     string // the site suffix, e.g. "-3", "-1A" (App), "-4X" (mini program); "" for a subject number
}

// provinces are the licence prefixes: the 31 licence-plate abbreviations,
// plus 滇 黔 蜀 陇, which current Yunnan, Guizhou, Sichuan and Gansu numbers use
// instead of 云 贵 川 甘 (package doc, "Licence numbers").
const provinces = "京津沪渝冀豫云滇辽黑湘皖鲁新苏浙赣鄂桂甘陇晋蒙陕吉闽贵黔粤青藏川蜀宁琼"

// Provinces lists every accepted licence prefix.
func Provinces() []string {
	out := make([]string, 0, utf8.RuneCountInString(provinces))
	for _, r := range provinces {
		out = append(out, string(r))
	}
	return out
}

// IsProvince reports whether p is one licence prefix character.
func IsProvince(p string) bool {
	r, size := utf8.DecodeRuneInString(p)
	return size == len(p) && r != utf8.RuneError && strings.ContainsRune(provinces, r)
}

// Digit counts of the number between the prefix and 号 (package doc,
// "Licence numbers"): ICP备 numbers are 8 digits (two-digit year first) or,
// in recent years, 10 digits (four-digit year first); ICP证 numbers are 6
// digits; B2 licences 8.
const (
	filingShortDigits = 8
	filingLongDigits  = 10
	permitDigits      = 6
	b2Digits          = 8
	maxSiteDigits     = 5 // mini programs reach four digits (粤B2-20090059-1626X)
)

// ParseLicence reads a filing number in any of the forms MIIT shows:
//
//	京ICP备12345678号       subject (8 digits, older) or 京ICP备2024026116号 (10 digits)
//	京ICP备12345678号-3     website 3 of the subject
//	陕ICP备2024026116号-1A  App (A), mini program (X), quick app (K)
//	京ICP证030173号-1       ICP operating licence (6 digits)
//	粤B2-20090059-5         value-added telecom licence (B2) and its site
//
// Full-width characters, other dashes, spaces, lower-case letters and the
// traditional 備 證 號 are normalised; a missing 号 is added. The quick-app
// letter K has no confirmed example (package doc) and is accepted so that
// an operator is never blocked by it.
func ParseLicence(raw string) (Licence, error) {
	s := normaliseLicence(raw)
	fail := func(format string, args ...any) (Licence, error) {
		return Licence{}, fmt.Errorf("licence %s: %s", strings.TrimSpace(raw), fmt.Sprintf(format, args...))
	}
	if s == "" {
		return Licence{}, errors.New("licence is empty")
	}
	if strings.Contains(s, "公网安备") {
		return fail("a public-security filing (公网安备) is not an ICP licence")
	}
	p, size := utf8.DecodeRuneInString(s)
	if !strings.ContainsRune(provinces, p) {
		if strings.HasPrefix(s, "ICP") || strings.HasPrefix(s, "B2") {
			return fail("the province prefix is missing, as in 京ICP备12345678号")
		}
		return fail("%q is not a province prefix (want one of %s)", string(p), provinces)
	}
	rest := s[size:]

	var (
		subject string
		digits  string
	)
	switch {
	case strings.HasPrefix(rest, "ICP备") || strings.HasPrefix(rest, "ICP证"):
		kindPart := rest[:len("ICP备")]
		digits, rest = leadingDigits(rest[len(kindPart):])
		switch {
		case digits == "":
			return fail("no number after %s", kindPart)
		case kindPart == "ICP证" && len(digits) != permitDigits:
			return fail("ICP证 numbers have %d digits, got %d", permitDigits, len(digits))
		case kindPart == "ICP备" && len(digits) != filingShortDigits && len(digits) != filingLongDigits:
			return fail("ICP备 numbers have %d or %d digits, got %d", filingShortDigits, filingLongDigits, len(digits))
		case allZeros(digits):
			return fail("the number %s is all zeros, which MIIT never issues", digits)
		case kindPart == "ICP备" && len(digits) == filingLongDigits && !strings.HasPrefix(digits, "20"):
			return fail("a 10-digit ICP备 number starts with its four-digit year, got %s", digits)
		}
		rest = strings.TrimPrefix(rest, "号")
		subject = string(p) + kindPart + digits + "号"
	case strings.HasPrefix(rest, "B2-"):
		digits, rest = leadingDigits(rest[len("B2-"):])
		if len(digits) != b2Digits {
			return fail("B2 licences have %d digits after B2-, got %d", b2Digits, len(digits))
		}
		if allZeros(digits) {
			return fail("the number %s is all zeros, which MIIT never issues", digits)
		}
		subject = string(p) + "B2-" + digits
	default:
		return fail("want ICP备, ICP证 or B2- after the province prefix %s", string(p))
	}

	site, err := parseSite(rest)
	if err != nil {
		return fail("%v", err)
	}
	return Licence{
		Raw:      raw,
		Number:   subject + site,
		Province: string(p),
		Subject:  subject,
		Site:     site,
	}, nil
}

// NormaliseLicence returns the normalised number of a licence, or, for text
// that is no licence (a record the public query returned in a form this
// parser does not know), the text with the same folding applied, so that
// comparisons of either still work.
func NormaliseLicence(s string) string {
	if l, err := ParseLicence(s); err == nil {
		return l.Number
	}
	return normaliseLicence(s)
}

// SubjectOf returns the subject number of a licence (京ICP备12345678号 for
// 京ICP备12345678号-3); text that is no licence is only normalised.
func SubjectOf(s string) string {
	if l, err := ParseLicence(s); err == nil {
		return l.Subject
	}
	return normaliseLicence(s)
}

// parseSite reads what follows the subject number: nothing, or -N with an
// optional service letter.
func parseSite(rest string) (string, error) {
	if rest == "" {
		return "", nil
	}
	if rest[0] != '-' {
		return "", fmt.Errorf("unexpected %q after the number (a site number looks like 号-3)", rest)
	}
	n, tail := leadingDigits(rest[1:])
	switch {
	case n == "":
		return "", errors.New("no site number after -")
	case n[0] == '0':
		return "", fmt.Errorf("site number %s starts with 0", n)
	case len(n) > maxSiteDigits:
		return "", fmt.Errorf("site number %s has more than %d digits", n, maxSiteDigits)
	}
	switch tail {
	case "", "A", "X", "K":
		return "-" + n + tail, nil
	default:
		return "", fmt.Errorf("unexpected %q after site number %s (want A for an App, X for a mini program, K for a quick app, or nothing)", tail, n)
	}
}

// allZeros reports whether a number is only zeros: a placeholder such as
// 粤ICP备00000000号, typed where the real number was not known.
func allZeros(digits string) bool { return strings.Trim(digits, "0") == "" }

func leadingDigits(s string) (digits, rest string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i], s[i:]
}

// normaliseLicence folds the ways a number gets typed or pasted into one form:
// full-width ASCII to ASCII, any dash to '-', traditional characters to
// simplified, letters to upper case, and every space removed.
func normaliseLicence(raw string) string {
	var b strings.Builder
	b.Grow(len(raw))
	for _, r := range raw {
		if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII block
			r -= 0xFEE0
		}
		switch r {
		case '‐', '‑', '‒', '–', '—', '−', '﹣':
			r = '-'
		case '備':
			r = '备'
		case '證':
			r = '证'
		case '號':
			r = '号'
		case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff': // invisible characters pasted from web pages
			continue
		}
		if unicode.IsSpace(r) {
			continue
		}
		if r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// CheckLicence enforces what the kind needs: a website or access cancellation
// names one site (…号-N), a subject cancellation the subject number itself.
func (k Kind) CheckLicence(l Licence) error {
	switch k {
	case KindSubject:
		if l.Site != "" {
			return fmt.Errorf("licence %s: a subject cancellation takes the subject number %s, without the site suffix %s", l.Number, l.Subject, l.Site)
		}
	case KindWebsite, KindAccess:
		if l.Site == "" {
			return fmt.Errorf("licence %s: a %s cancellation needs a site number such as %s-1", l.Number, k, l.Subject)
		}
	default:
		return fmt.Errorf("unknown kind %q (want subject, website or access)", string(k))
	}
	return nil
}

// provincePair returns the two prefixes of a province that has two (package
// doc): the licence-plate abbreviation operators type (云 贵 川 甘) and the one
// current numbers carry (滇 黔 蜀 陇). ok is false for every other prefix.
func provincePair(p rune) (plate, issued rune, ok bool) {
	switch p {
	case '云', '滇':
		return '云', '滇', true
	case '贵', '黔':
		return '贵', '黔', true
	case '川', '蜀':
		return '川', '蜀', true
	case '甘', '陇':
		return '甘', '陇', true
	}
	return 0, 0, false
}

// foldPrefix replaces the first character of s, a province prefix, by the
// prefix current numbers carry: 云ICP备…, typed from the plate, and
// 滇ICP备…, as MIIT prints it, are one number.
func foldPrefix(s string) string {
	p, size := utf8.DecodeRuneInString(s)
	if _, issued, ok := provincePair(p); ok {
		return string(issued) + s[size:]
	}
	return s
}

// LicenceKey is the form in which two numbers are compared: normalised as
// NormaliseLicence does, with the province prefix folded to one form. Two
// numbers are the same filing exactly when their keys are equal.
func LicenceKey(s string) string { return foldPrefix(NormaliseLicence(s)) }

// SubjectKey is LicenceKey of the subject number of s.
func SubjectKey(s string) string { return LicenceKey(SubjectOf(s)) }

// ProvinceKey folds a province prefix as LicenceKey folds a number's (云 to
// 滇): two prefixes name one province exactly when their keys are equal.
func ProvinceKey(p string) string {
	if !IsProvince(p) {
		return p
	}
	return foldPrefix(p)
}

// Spellings returns s (a normalised number, or a province prefix) first,
// then s with the other prefix of its province: 滇ICP备12345678号 gives
// it and 云ICP备12345678号; a province with one prefix gives s alone.
func Spellings(s string) []string {
	p, size := utf8.DecodeRuneInString(s)
	plate, issued, ok := provincePair(p)
	switch {
	case !ok:
		return []string{s}
	case p == plate:
		return []string{s, string(issued) + s[size:]}
	}
	return []string{s, string(plate) + s[size:]}
}
