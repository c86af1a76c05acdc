package evidence

import (
	"slices"
	"testing"

	"github.com/icpmon/icpmon/scraper"
)

func key(t *testing.T, s string) Key {
	t.Helper()
	k, err := ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func rec(licence, domain string) scraper.Record {
	return scraper.Record{Licence: licence, MainLicence: scraper.MainLicenceOf(licence), Domain: domain}
}

func TestJudge(t *testing.T) {
	subject := "京ICP备12345678号"
	site := "京ICP备12345678号-3"
	all := []scraper.Record{rec("京ICP备12345678号-1", "a.example.com"), rec("京ICP备12345678号-2", "b.example.com")}
	for _, tc := range []struct {
		name        string
		asked, want string
		ans         scraper.Answer
		result      Result
		reason      scraper.Reason
		matches     []string
	}{
		{"site present", subject, site, scraper.Answer{Records: append(all, rec(" 京ICP备12345678号－3", "c.example.com")), Complete: true}, Present, "", []string{"京ICP备12345678号-3"}},
		{"present among others", subject, site, scraper.Answer{Records: []scraper.Record{rec("沪ICP备87654321号-1", "x.cn"), rec(site, "c.example.com")}}, Present, "", []string{site}},
		{"subject present", subject, subject, scraper.Answer{Records: all}, Present, "", []string{"京ICP备12345678号-1", "京ICP备12345678号-2"}},
		{"province alias", "云ICP备12345681号", "云ICP备12345681号-1", scraper.Answer{Records: []scraper.Record{rec("滇ICP备12345681号-1", "")}}, Present, "", []string{"滇ICP备12345681号-1"}},
		{"explicit no record", subject, site, scraper.Answer{NoRecord: true, Complete: true}, Absent, "", nil},
		{"explicit no record for the site", site, site, scraper.Answer{NoRecord: true, Complete: true}, Absent, "", nil},
		{"complete list without the site", subject, site, scraper.Answer{Records: all, Complete: true}, Absent, "", nil},
		{"partial list without the site", subject, site, scraper.Answer{Records: all}, Unknown, scraper.IncompleteResults, nil},
		{"empty list, no marker", subject, site, scraper.Answer{Complete: true}, Unknown, scraper.IncompleteResults, nil},
		{"another subject's record", subject, subject, scraper.Answer{Records: []scraper.Record{rec("沪ICP备87654321号-1", "x.cn")}, Complete: true}, Unknown, scraper.UnmatchedRecords, nil},
		{"another subject's record, site", subject, site, scraper.Answer{Records: append(all, rec("沪ICP备87654321号-1", "x.cn")), Complete: true}, Unknown, scraper.UnmatchedRecords, nil},
		{"unparseable licence", subject, subject, scraper.Answer{Records: []scraper.Record{rec("备案中", "")}, Complete: true}, Unknown, scraper.UnmatchedRecords, nil},
		{"no record yet rows", subject, site, scraper.Answer{Records: all, NoRecord: true, Complete: true}, Unknown, scraper.Unparseable, nil},
		{"asked says nothing about want", "沪ICP备87654321号", site, scraper.Answer{NoRecord: true}, Unknown, scraper.UnmatchedRecords, nil},
		{"site asked, sibling returned", site, site, scraper.Answer{Records: all[:1], Complete: true}, Unknown, scraper.UnmatchedRecords, nil},
		{"domain present", "b.example.com", "b.example.com", scraper.Answer{Records: all[1:]}, Present, "", []string{"京ICP备12345678号-2"}},
		{"domain, other domain", "c.example.com", "c.example.com", scraper.Answer{Records: all[1:], Complete: true}, Unknown, scraper.UnmatchedRecords, nil},
		{"domain no record", "c.example.com", "c.example.com", scraper.Answer{NoRecord: true}, Absent, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Judge(key(t, tc.asked), key(t, tc.want), tc.ans)
			if v.Result != tc.result || v.Reason != tc.reason || !slices.Equal(v.Matches, tc.matches) || v.Why == "" {
				t.Fatalf("got %+v; want %s %s %v", v, tc.result, tc.reason, tc.matches)
			}
		})
	}
}

// TestKeyKeepsWhatIsAsked: the folded province form is for comparing only;
// an old 川ICP备 number is looked up as it was typed.
func TestKeyKeepsWhatIsAsked(t *testing.T) {
	k := key(t, " 川ICP备10200063号－1")
	if k.String() != "川ICP备10200063号-1" || k.Licence != "蜀ICP备10200063号-1" || k.Subject {
		t.Fatalf("%+v", k)
	}
	s, err := SubjectKey("川ICP备10200063号-1")
	if err != nil || s.String() != "川ICP备10200063号" || !s.Subject {
		t.Fatalf("%+v %v", s, err)
	}
	if _, err := ParseKey("not a licence nor a domain"); err == nil {
		t.Fatal("accepted")
	}
}
