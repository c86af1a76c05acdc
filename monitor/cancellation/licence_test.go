package cancellation

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseLicence(t *testing.T) {
	cases := []struct {
		raw                             string
		number, province, subject, site string
	}{
		{"京ICP备12345678号", "京ICP备12345678号", "京", "京ICP备12345678号", ""},
		{"京ICP备12345678号-3", "京ICP备12345678号-3", "京", "京ICP备12345678号", "-3"},
		{"陕ICP备2024026116号-1A", "陕ICP备2024026116号-1A", "陕", "陕ICP备2024026116号", "-1A"},
		{"苏ICP备2026044365号-1X", "苏ICP备2026044365号-1X", "苏", "苏ICP备2026044365号", "-1X"},
		{"陇ICP备2025016413号-4X", "陇ICP备2025016413号-4X", "陇", "陇ICP备2025016413号", "-4X"},
		{"蜀ICP备2025152100号-2", "蜀ICP备2025152100号-2", "蜀", "蜀ICP备2025152100号", "-2"},
		{"滇ICP备2020009854号", "滇ICP备2020009854号", "滇", "滇ICP备2020009854号", ""},
		{"黔ICP备2026000001号-1", "黔ICP备2026000001号-1", "黔", "黔ICP备2026000001号", "-1"},
		{"川ICP备10200063号-1", "川ICP备10200063号-1", "川", "川ICP备10200063号", "-1"},
		{"甘ICP备16003251号-1", "甘ICP备16003251号-1", "甘", "甘ICP备16003251号", "-1"},
		{"云ICP备12345678号", "云ICP备12345678号", "云", "云ICP备12345678号", ""},
		{"贵ICP备12345678号-2", "贵ICP备12345678号-2", "贵", "贵ICP备12345678号", "-2"},
		{"京ICP证030173号", "京ICP证030173号", "京", "京ICP证030173号", ""},
		{"京ICP证030173号-1", "京ICP证030173号-1", "京", "京ICP证030173号", "-1"},
		{"粤B2-20090059", "粤B2-20090059", "粤", "粤B2-20090059", ""},
		{"粤B2-20090059-5", "粤B2-20090059-5", "粤", "粤B2-20090059", "-5"},
		{"粤B2-20090059-1626X", "粤B2-20090059-1626X", "粤", "粤B2-20090059", "-1626X"},
		{"沪ICP备2025152989号-1K", "沪ICP备2025152989号-1K", "沪", "沪ICP备2025152989号", "-1K"},
		// what gets pasted: full-width letters, digits and dash, spaces, other dashes
		{"京ＩＣＰ备１２３４５６７８号－３", "京ICP备12345678号-3", "京", "京ICP备12345678号", "-3"},
		{"  陇ICP备 05000593号 ", "陇ICP备05000593号", "陇", "陇ICP备05000593号", ""},
		{"京icp备12345678号—2a", "京ICP备12345678号-2A", "京", "京ICP备12345678号", "-2A"},
		{"京ICP備12345678號\u3000-\u200b1", "京ICP备12345678号-1", "京", "京ICP备12345678号", "-1"},
		{"浙ICP备12345678-1", "浙ICP备12345678号-1", "浙", "浙ICP备12345678号", "-1"},
		{"粤Ｂ２－２００９００５９－５", "粤B2-20090059-5", "粤", "粤B2-20090059", "-5"},
	}
	for _, tc := range cases {
		l, err := ParseLicence(tc.raw)
		if err != nil {
			t.Errorf("ParseLicence(%q): %v", tc.raw, err)
			continue
		}
		want := Licence{Raw: tc.raw, Number: tc.number, Province: tc.province, Subject: tc.subject, Site: tc.site}
		if l != want {
			t.Errorf("ParseLicence(%q) = %+v, want %+v", tc.raw, l, want)
		}
	}
}

func TestParseLicenceErrors(t *testing.T) {
	cases := map[string]string{
		"":                      "licence is empty",
		"   ":                   "licence is empty",
		"京ICP备123号-1":           "licence 京ICP备123号-1: ICP备 numbers have 8 or 10 digits, got 3",
		"京ICP备123456789号":       "licence 京ICP备123456789号: ICP备 numbers have 8 or 10 digits, got 9",
		"京ICP备1234567890号":      "licence 京ICP备1234567890号: a 10-digit ICP备 number starts with its four-digit year, got 1234567890",
		"京ICP证12345678号":        "licence 京ICP证12345678号: ICP证 numbers have 6 digits, got 8",
		"粤B2-2009005":           "licence 粤B2-2009005: B2 licences have 8 digits after B2-, got 7",
		"京ICP备号-1":              "licence 京ICP备号-1: no number after ICP备",
		"ICP备12345678号":         "licence ICP备12345678号: the province prefix is missing, as in 京ICP备12345678号",
		"台ICP备12345678号":        `licence 台ICP备12345678号: "台" is not a province prefix (want one of ` + provinces + ")",
		"京ICP12345678号":         "licence 京ICP12345678号: want ICP备, ICP证 or B2- after the province prefix 京",
		"京ICP备12345678号-":       "licence 京ICP备12345678号-: no site number after -",
		"京ICP备12345678号-0":      "licence 京ICP备12345678号-0: site number 0 starts with 0",
		"京ICP备12345678号-123456": "licence 京ICP备12345678号-123456: site number 123456 has more than 5 digits",
		"京ICP备12345678号-1B":     `licence 京ICP备12345678号-1B: unexpected "B" after site number 1 (want A for an App, X for a mini program, K for a quick app, or nothing)`,
		"京ICP备12345678号x":       `licence 京ICP备12345678号x: unexpected "X" after the number (a site number looks like 号-3)`,
		"京公网安备11010502030143号":  "licence 京公网安备11010502030143号: a public-security filing (公网安备) is not an ICP licence",
		// once accepted: an all-zero placeholder
		"粤ICP备00000000号-1": "licence 粤ICP备00000000号-1: the number 00000000 is all zeros, which MIIT never issues",
		"京ICP证000000号":     "licence 京ICP证000000号: the number 000000 is all zeros, which MIIT never issues",
		"粤B2-00000000-5":   "licence 粤B2-00000000-5: the number 00000000 is all zeros, which MIIT never issues",
		"滇ICP备0000000000号": "licence 滇ICP备0000000000号: the number 0000000000 is all zeros, which MIIT never issues",
	}
	for raw, want := range cases {
		_, err := ParseLicence(raw)
		if err == nil {
			t.Errorf("ParseLicence(%q) accepted", raw)
			continue
		}
		if err.Error() != want {
			t.Errorf("ParseLicence(%q):\n got %s\nwant %s", raw, err, want)
		}
	}
}

func TestNormaliseLicenceAndSubjectOf(t *testing.T) {
	cases := []struct{ in, number, subject string }{
		{"京ＩＣＰ备１２３４５６７８号－３", "京ICP备12345678号-3", "京ICP备12345678号"},
		{"粤B2-20090059-5", "粤B2-20090059-5", "粤B2-20090059"},
		{"京ICP备12345678号", "京ICP备12345678号", "京ICP备12345678号"},
		{" not a licence ", "NOTALICENCE", "NOTALICENCE"},
	}
	for _, tc := range cases {
		if got := NormaliseLicence(tc.in); got != tc.number {
			t.Errorf("NormaliseLicence(%q) = %q, want %q", tc.in, got, tc.number)
		}
		if got := SubjectOf(tc.in); got != tc.subject {
			t.Errorf("SubjectOf(%q) = %q, want %q", tc.in, got, tc.subject)
		}
	}
}

func TestProvinces(t *testing.T) {
	ps := Provinces()
	if len(ps) != 35 {
		t.Fatalf("%d provinces, want 31 licence-plate prefixes + 滇 黔 蜀 陇", len(ps))
	}
	for _, p := range []string{"滇", "黔", "蜀", "陇", "云", "贵", "川", "甘", "京", "琼"} {
		if !IsProvince(p) {
			t.Errorf("IsProvince(%q) = false", p)
		}
	}
	for _, p := range []string{"", "台", "港", "京津", "A", "\xe4"} {
		if IsProvince(p) {
			t.Errorf("IsProvince(%q) = true", p)
		}
	}
	for _, p := range ps {
		l, err := ParseLicence(p + "ICP备12345678号-1")
		if err != nil || l.Province != p {
			t.Errorf("province %s: %+v %v", p, l, err)
		}
	}
}

func TestKindCheckLicence(t *testing.T) {
	subject, _ := ParseLicence("京ICP备12345678号")
	site, _ := ParseLicence("京ICP备12345678号-3")
	for _, k := range []Kind{KindWebsite, KindAccess} {
		if err := k.CheckLicence(site); err != nil {
			t.Errorf("%s with a site number: %v", k, err)
		}
		err := k.CheckLicence(subject)
		want := "licence 京ICP备12345678号: a " + string(k) + " cancellation needs a site number such as 京ICP备12345678号-1"
		if err == nil || err.Error() != want {
			t.Errorf("%s with a subject number: %v", k, err)
		}
	}
	if err := KindSubject.CheckLicence(subject); err != nil {
		t.Errorf("subject: %v", err)
	}
	err := KindSubject.CheckLicence(site)
	if err == nil || err.Error() != "licence 京ICP备12345678号-3: a subject cancellation takes the subject number 京ICP备12345678号, without the site suffix -3" {
		t.Errorf("subject with a site: %v", err)
	}
	if err := Kind("domain").CheckLicence(site); err == nil {
		t.Error("unknown kind accepted")
	}
}

// FuzzParseLicence: whatever is accepted is normalised, parses to itself,
// and splits into subject and site.
func FuzzParseLicence(f *testing.F) {
	for _, s := range []string{"京ICP备12345678号-1", "粤B2-20090059-1626X", "京ICP证030173号", "京ＩＣＰ备１２３４５６７８号－３", "ICP", "京"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		l, err := ParseLicence(raw)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "licence") {
				t.Fatalf("error does not name the licence: %v", err)
			}
			return
		}
		if l.Raw != raw || l.Subject+l.Site != l.Number || !IsProvince(l.Province) || !strings.HasPrefix(l.Number, l.Province) {
			t.Fatalf("inconsistent %+v", l)
		}
		if !utf8.ValidString(l.Number) || strings.ContainsAny(l.Number, " \t\r\n") {
			t.Fatalf("number not normalised: %q", l.Number)
		}
		again, err := ParseLicence(l.Number)
		if err != nil {
			t.Fatalf("normalised %q does not parse: %v", l.Number, err)
		}
		if again.Number != l.Number || again.Subject != l.Subject || again.Site != l.Site {
			t.Fatalf("not idempotent: %+v then %+v", l, again)
		}
		for _, sp := range Spellings(l.Number) {
			if LicenceKey(sp) != LicenceKey(l.Number) {
				t.Fatalf("spelling %s of %s has another key", sp, l.Number)
			}
		}
	})
}

// A regression: 云ICP备12345681号-1 and 滇ICP备12345681号-1 are one filing.
func TestProvinceAliasesFold(t *testing.T) {
	for _, pair := range [][2]string{{"云", "滇"}, {"贵", "黔"}, {"川", "蜀"}, {"甘", "陇"}} {
		plate, issued := pair[0], pair[1]
		a, b := plate+"ICP备12345681号-1", issued+"ICP备12345681号-1"
		if LicenceKey(a) != LicenceKey(b) || LicenceKey(a) != b {
			t.Errorf("LicenceKey(%s) = %s, LicenceKey(%s) = %s", a, LicenceKey(a), b, LicenceKey(b))
		}
		if ProvinceKey(plate) != issued || ProvinceKey(issued) != issued {
			t.Errorf("ProvinceKey(%s) = %s, ProvinceKey(%s) = %s", plate, ProvinceKey(plate), issued, ProvinceKey(issued))
		}
		if got := Spellings(b); !slices.Equal(got, []string{b, a}) {
			t.Errorf("Spellings(%s) = %v", b, got)
		}
		if got := Spellings(plate); !slices.Equal(got, []string{plate, issued}) {
			t.Errorf("Spellings(%s) = %v", plate, got)
		}
	}
	// the number keeps the prefix as typed; only comparisons fold
	if l, err := ParseLicence("云ICP备12345681号-1"); err != nil || l.Number != "云ICP备12345681号-1" || l.Province != "云" {
		t.Errorf("ParseLicence: %+v %v", l, err)
	}
	for _, one := range []string{"浙", "京ICP备12345678号", ""} {
		if got := Spellings(one); !slices.Equal(got, []string{one}) {
			t.Errorf("Spellings(%q) = %v", one, got)
		}
	}
	if ProvinceKey("浙") != "浙" || LicenceKey("浙ICP备12345678号") != "浙ICP备12345678号" {
		t.Error("浙 folded")
	}
	// every prefix with a partner is a pair both ways, and folds with it
	for _, p := range Provinces() {
		q := Spellings(p)
		if len(q) == 2 && (Spellings(q[1])[1] != p || ProvinceKey(p) != ProvinceKey(q[1])) {
			t.Errorf("%s and %s are not a pair", p, q[1])
		}
		if len(q) == 1 && ProvinceKey(p) != p {
			t.Errorf("%s folds to %s without a partner", p, ProvinceKey(p))
		}
	}
}
