package miittest

import (
	"testing"
	"time"

	"github.com/icpmon/icpmon/monitor/testing/harness"
)

func TestSilentBan(t *testing.T) {
	clk := harness.NewClock(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	s, r := start(t, Options{Now: clk.Now, SignTTL: time.Hour, TokenTTL: time.Hour, ChallengeTTL: time.Hour,
		SilentBanAfter: 3, SilentBanWindow: time.Minute, SilentBanFor: 10 * time.Minute})
	addSubject(s, "京ICP备10046444号", 2)
	const canary = `{"pageNum":1,"pageSize":26,"unitName":"京ICP备10046444号","serviceType":1}`
	token, uuid, sign := r.handshake()
	total := func() int {
		t.Helper()
		return params(t, r.query(token, uuid, sign, canary)).Total
	}

	for i := range 3 {
		if n := total(); n != 2 {
			t.Fatalf("query %d within the limit: total %d", i+1, n)
		}
		clk.Advance(time.Second)
	}
	if st := s.SilentBan(); st.Active || st.Bans != 0 {
		t.Fatalf("before the limit: %+v", st)
	}
	// The fourth within a minute starts the ban: normal-looking empty lists.
	for range 2 {
		if n := total(); n != 0 {
			t.Fatalf("under the ban: total %d", n)
		}
	}
	st := s.SilentBan()
	if !st.Active || st.Bans != 1 || st.Spoiled != 2 || !st.Until.Equal(clk.Now().Add(10*time.Minute)) {
		t.Fatalf("ban state %+v", st)
	}
	// A malformed query is refused as usual, and spoils nothing.
	if a := r.query(token, uuid, sign, `{"unitName":"x"}`); a.Code != 500 {
		t.Fatalf("malformed query under the ban: %s", a.Body)
	}
	if st := s.SilentBan(); st.Spoiled != 2 {
		t.Fatalf("spoiled %d, want 2", st.Spoiled)
	}

	// Once the ban and the window have passed, answers are true again.
	clk.Advance(10 * time.Minute)
	if st := s.SilentBan(); st.Active {
		t.Fatalf("after the ban: %+v", st)
	}
	if n := total(); n != 2 {
		t.Fatalf("after the ban: total %d", n)
	}

	// A burst bans again (the query above counts: two of these four are
	// emptied); LiftSilentBan ends it at once.
	for range 4 {
		total()
	}
	if st := s.SilentBan(); !st.Active || st.Bans != 2 {
		t.Fatalf("second burst: %+v", st)
	}
	s.LiftSilentBan()
	if n := total(); n != 2 {
		t.Fatalf("after LiftSilentBan: total %d", n)
	}
	if st := s.SilentBan(); st.Active || st.Spoiled != 4 {
		t.Fatalf("after LiftSilentBan: %+v", st)
	}
}

func TestSilentBanOff(t *testing.T) {
	s, r := start(t, Options{})
	addSubject(s, "京ICP备10046444号", 1)
	token, uuid, sign := r.handshake()
	for range 30 {
		if p := params(t, r.query(token, uuid, sign, `{"unitName":"京ICP备10046444号","serviceType":1}`)); p.Total != 1 {
			t.Fatalf("total %d without a ban configured", p.Total)
		}
	}
	if st := s.SilentBan(); st != (SilentBanState{}) {
		t.Fatalf("%+v", st)
	}
}
