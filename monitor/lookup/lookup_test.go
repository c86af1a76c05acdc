package lookup

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/icpmon/icpmon/monitor/evidence"
	"github.com/icpmon/icpmon/scraper"
)

const canary = "京ICP备10046444号"

// table is a provider over a fixed public record that can turn silently
// banned after a number of lookups; it counts its canary lookups.
type table struct {
	name     string
	filed    []string // service licences
	banAfter int      // 0: never
	mu       sync.Mutex
	lookups  int
	canaries int
	failWith scraper.Reason // every lookup fails so, when set
}

func (t *table) Name() string { return t.name }

func (t *table) Lookup(_ context.Context, q string) (scraper.Answer, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lookups++
	if q == canary {
		t.canaries++
	}
	if t.failWith != "" {
		return scraper.Answer{}, scraper.Unknown(t.failWith, fmt.Errorf("%s refused", t.name))
	}
	if t.banAfter > 0 && t.lookups > t.banAfter {
		return scraper.Answer{NoRecord: true, Complete: true}, nil
	}
	var ans scraper.Answer
	for _, l := range t.filed {
		if scraper.MainLicenceOf(l) == q || l == q {
			ans.Records = append(ans.Records, scraper.Record{Licence: l, MainLicence: scraper.MainLicenceOf(l)})
		}
	}
	ans.Complete, ans.NoRecord = true, len(ans.Records) == 0
	return ans, nil
}

func ask(t *testing.T, s *Session, licences ...string) map[string]Outcome {
	t.Helper()
	out := map[string]Outcome{}
	for _, l := range licences {
		k, err := evidence.LicenceKey(l)
		if err != nil {
			t.Fatal(err)
		}
		s.Ask(context.Background(), Question{Asked: k, Wants: []evidence.Key{k}, Done: func(o Outcome) { out[l] = o }})
	}
	s.Finish(context.Background())
	return out
}

func chain(t *testing.T, ps ...scraper.Provider) *Chain {
	t.Helper()
	c, err := NewChain(ps, canary, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// One canary vouches for a batch of absences: the cost stays small.
func TestBatchCost(t *testing.T) {
	for _, tc := range []struct{ absences, batch, canaries int }{{0, 8, 0}, {1, 8, 1}, {8, 8, 1}, {9, 8, 2}, {5, 1, 5}, {20, 8, 3}} {
		p := &table{name: "p", filed: []string{canary + "-9"}}
		var asked []string
		for i := range tc.absences {
			asked = append(asked, fmt.Sprintf("京ICP备%08d号-1", 20000000+i))
		}
		out := ask(t, chain(t, p).Session(tc.batch), asked...)
		for _, l := range asked {
			if out[l].Verdicts[0].Result != evidence.Absent {
				t.Fatalf("%+v: %s %+v", tc, l, out[l])
			}
		}
		if p.canaries != tc.canaries {
			t.Errorf("%d absences in batches of %d: %d canary lookups, want %d", tc.absences, tc.batch, p.canaries, tc.canaries)
		}
	}
}

// A ban that starts anywhere in a run discards every absence since the last
// good canary, and never a presence.
func TestBanDiscardsHeldAbsences(t *testing.T) {
	filed := []string{canary + "-9", "京ICP备11111111号-1", "京ICP备22222222号-1"}
	asked := []string{"京ICP备11111111号-1", "沪ICP备33333333号-1", "京ICP备22222222号-1", "沪ICP备44444444号-1", "沪ICP备55555555号-1"}
	for ban := 1; ban <= 8; ban++ {
		for _, batch := range []int{1, 2, 8} {
			p := &table{name: "p", filed: filed, banAfter: ban}
			out := ask(t, chain(t, p).Session(batch), asked...)
			for _, l := range asked {
				v := out[l].Verdicts[0]
				if slices.Contains(filed, l) && v.Result == evidence.Absent {
					t.Errorf("ban after %d, batch %d: filed %s judged absent", ban, batch, l)
				}
				if v.Result == evidence.Unknown && v.Reason != scraper.SilentBanSuspected {
					t.Errorf("ban after %d, batch %d: %s unknown for %s", ban, batch, l, v.Reason)
				}
			}
		}
	}
}

// Provider reasons hand the question on; answer reasons do not.
func TestFallback(t *testing.T) {
	filed := []string{canary + "-9", "京ICP备11111111号-1"}
	second := &table{name: "second", filed: filed}
	out := ask(t, chain(t, &table{name: "first", failWith: scraper.CaptchaFailed}, second).Session(8), "京ICP备11111111号-1", "沪ICP备33333333号-1")
	if o := out["京ICP备11111111号-1"]; o.Provider != "second" || o.Verdicts[0].Result != evidence.Present {
		t.Errorf("present: %+v", o)
	}
	if o := out["沪ICP备33333333号-1"]; o.Provider != "second" || o.Verdicts[0].Result != evidence.Absent || o.Bracket == "" {
		t.Errorf("absent: %+v", o)
	}
	out = ask(t, chain(t, &table{name: "first", failWith: scraper.CaptchaFailed}, &table{name: "second", failWith: scraper.WAFBlocked}).Session(8), "沪ICP备33333333号-1")
	if v := out["沪ICP备33333333号-1"].Verdicts[0]; v.Result != evidence.Unknown || v.Reason != scraper.WAFBlocked {
		t.Errorf("nobody answered: %+v", v)
	}
}

func TestStart(t *testing.T) {
	banned := &table{name: "banned"} // nothing filed: the canary too comes back empty
	if err := chain(t, banned).Session(8).Start(context.Background()); err == nil {
		t.Fatal("a provider without the canary passed")
	}
	good := &table{name: "good", filed: []string{canary + "-9"}}
	s := chain(t, banned, good).Session(8)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := ask(t, s, "沪ICP备33333333号-1")
	if o := out["沪ICP备33333333号-1"]; o.Provider != "good" {
		t.Errorf("a provider out since Start was asked: %+v", o)
	}
}
