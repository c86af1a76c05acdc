package miittest

import "time"

// silentBan is the state of Options.SilentBanAfter.
type silentBan struct {
	recent  []time.Time // query arrivals within the window, oldest first
	until   time.Time   // the ban is on before until
	bans    int
	spoiled int
}

// countForBan records a query's arrival and reports whether it falls in a
// silent ban, starting one if it is the request too many; s.mu is held.
func (s *Server) countForBan() bool {
	if s.opts.SilentBanAfter <= 0 {
		return false
	}
	now := s.opts.Now()
	b := &s.ban
	cut := 0
	for cut < len(b.recent) && now.Sub(b.recent[cut]) >= s.opts.SilentBanWindow {
		cut++
	}
	b.recent = append(b.recent[:0], b.recent[cut:]...)
	b.recent = append(b.recent, now)
	if now.Before(b.until) {
		return true
	}
	if len(b.recent) > s.opts.SilentBanAfter {
		b.until = now.Add(s.opts.SilentBanFor)
		b.bans++
		return true
	}
	return false
}

// SilentBanState is what a test may see of the silent ban.
type SilentBanState struct {
	// Active says a ban is on now, until Until.
	Active bool
	Until  time.Time
	// Bans is how many bans have started; Spoiled is how many query answers
	// they emptied (every well-formed query answered during a ban).
	Bans, Spoiled int
}

// SilentBan reports the silent ban's state.
func (s *Server) SilentBan() SilentBanState {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	return SilentBanState{
		Active:  now.Before(s.ban.until),
		Until:   s.ban.until,
		Bans:    s.ban.bans,
		Spoiled: s.ban.spoiled,
	}
}

// LiftSilentBan ends a silent ban now and forgets the queries counted
// towards the next one, as if the client had waited long enough.
func (s *Server) LiftSilentBan() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ban.until = time.Time{}
	s.ban.recent = s.ban.recent[:0]
}
