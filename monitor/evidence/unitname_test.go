package evidence

import (
	"slices"
	"testing"

	"github.com/icpmon/icpmon/scraper"
)

func named(licence, unit string) scraper.Record {
	r := rec(licence, "")
	r.UnitName = unit
	return r
}

// Only a record that keeps the key alive gives its unit name; a sibling's,
// or another subject's, never does, in whatever order the source lists them.
func TestJudgeUnitName(t *testing.T) {
	const subject, site = "京ICP备12345678号", "京ICP备12345678号-3"
	sibling := named("京ICP备12345678号-1", "甲科技有限公司")
	other := named("沪ICP备87654321号-1", "丙科技有限公司")
	for _, tc := range []struct {
		name        string
		asked, want string
		records     []scraper.Record
		result      Result
		unit        string
	}{
		{"its own record", subject, site, []scraper.Record{sibling, named(site, " 乙科技有限公司\u3000")}, Present, "乙科技有限公司"},
		{"its own record, nameless", subject, site, []scraper.Record{sibling, named(site, "")}, Present, ""},
		{"only a sibling named", subject, site, []scraper.Record{sibling}, Absent, ""},
		{"another subject named", subject, site, []scraper.Record{other}, Unknown, ""},
		{"another subject beside it", subject, site, []scraper.Record{other, named(site, "乙科技有限公司")}, Present, "乙科技有限公司"},
		{"subject: the first licence that names one", subject, subject,
			[]scraper.Record{named("京ICP备12345678号-4", "丁"), named(site, ""), sibling, other}, Present, "甲科技有限公司"},
		{"domain", "a.example.com", "a.example.com",
			[]scraper.Record{{Licence: site, Domain: "a.example.com", UnitName: "乙科技有限公司"}, {Licence: "京ICP备12345678号-1", Domain: "b.example.com", UnitName: "甲科技有限公司"}}, Present, "乙科技有限公司"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			records := slices.Clone(tc.records)
			for range 2 { // as listed, then reversed
				v := Judge(key(t, tc.asked), key(t, tc.want), scraper.Answer{Records: records, Complete: true})
				if v.Result != tc.result || v.UnitName != tc.unit {
					t.Fatalf("%v: got %s with unit %q (%s); want %s with %q", records, v.Result, v.UnitName, v.Why, tc.result, tc.unit)
				}
				slices.Reverse(records)
			}
		})
	}
}
