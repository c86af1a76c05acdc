package query_test

import (
	"testing"

	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/scraper"
)

// The unit name (主办单位名称) a cancellation keeps comes from a record of
// exactly its filing, through the store, and stays once seen: a sibling's
// record never lends its own, and absent, unknown and nameless answers
// leave the last one seen.
func TestUnitNameOnlyFromTheFilingItself(t *testing.T) {
	const (
		subject = "京ICP备12345678号"
		one     = subject + "-1"
		two     = subject + "-2"
		oneUnit = "甲科技有限公司"
		// Two names under one subject never happen at MIIT; here they tell
		// which record a name came from.
		twoUnit = "乙科技有限公司"
	)
	w := newWorld(t)
	w.sim.AddRecord(scraper.Record{Licence: one, Domain: "one.example.cn", UnitName: oneUnit})
	ids := map[string]string{
		one:     w.track(cancellation.KindWebsite, one),
		two:     w.track(cancellation.KindWebsite, two),
		subject: w.track(cancellation.KindSubject, subject),
	}
	expect := func(when string, want map[string]string) {
		t.Helper()
		for licence, unit := range want {
			if c := w.get(ids[licence]); c.Record.UnitName != unit {
				t.Errorf("%s: %s (record %s) has unit name %q, want %q", when, licence, c.Record.State(), c.Record.UnitName, unit)
			}
		}
	}

	w.run()
	expect("-2 not filed", map[string]string{one: oneUnit, two: "", subject: oneUnit})
	if c := w.get(ids[two]); c.Record.State() != "absent" {
		t.Fatalf("-2 not filed: record %s, want absent", c.Record.State())
	}

	w.sim.AddRecord(scraper.Record{Licence: two, Domain: "two.example.cn", UnitName: twoUnit})
	w.run()
	expect("-2 filed", map[string]string{one: oneUnit, two: twoUnit, subject: oneUnit})

	// -2 gone, -1 listed without a unit name: the names seen stay.
	w.sim.DeleteLicence(subject)
	w.sim.AddRecord(scraper.Record{Licence: one, Domain: "one.example.cn"})
	w.run()
	expect("-2 gone, -1 nameless", map[string]string{one: oneUnit, two: twoUnit, subject: oneUnit})
	if c := w.get(ids[two]); c.Record.State() != "absent" {
		t.Fatalf("-2 gone: record %s, want absent", c.Record.State())
	}

	// A provider whose answer names another subject's unit proves nothing,
	// and lends nothing.
	w.use(100, ymicpService(t, func(search string) []scraper.Record {
		if search == canary {
			return []scraper.Record{{Licence: canary + "-9", MainLicence: canary, Domain: "mi.cn", UnitName: "小米科技有限责任公司"}}
		}
		return []scraper.Record{{Licence: "沪ICP备87654321号-1", MainLicence: "沪ICP备87654321号", Domain: "other.cn", UnitName: "丙科技有限公司"}}
	}))
	w.run()
	expect("another subject answered", map[string]string{one: oneUnit, two: twoUnit, subject: oneUnit})
	for licence, id := range ids {
		if c := w.get(id); c.Record.UnknownReason != string(scraper.UnmatchedRecords) {
			t.Errorf("another subject answered: %s unknown for %q, want %s", licence, c.Record.UnknownReason, scraper.UnmatchedRecords)
		}
	}
}
