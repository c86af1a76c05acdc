// Package lease lets several icpmon replicas share one Redis so that each job
// runs at most once per tick across all of them, and one replica at a time
// does a job's work.
//
// A daemon keeps one Elector per job for the job's lifetime:
//
//	e := lease.New(rdb, "{icpmon}:lease:review", 30*time.Second, lease.WithLogger(log))
//	go e.Keep(ctx)                             // until the job is removed or the daemon stops
//	ran, err := e.Run(jobCtx, scheduled, job.Run) // at each tick
//	held := e.Held()                           // whether this replica leads, now
//
// # The lease
//
// A job's lease is one Redis key holding the random token of the replica
// that holds it (SET NX PX). Only a script that finds its own token there
// restarts the TTL (every third of the TTL) or deletes the key, so a replica
// can never extend or free a lease that has passed to another. When renewal
// fails, because the key holds another token or because Redis did not
// confirm a renewal before the lease could have expired, the work's context
// is cancelled: work stops when the lease is lost.
//
// # Leader, not per tick
//
// An [Elector] holds the lease across ticks: [Elector.Keep] stands for the
// lease, obtains it whenever it is free and renews it while held. Obtaining
// it only for each run would let a replica's lease lapse between runs and
// hand the job to whichever replica fires first; holding it keeps one leader
// that stays put (Held says which), and a standby's Keep retries
// every third of the TTL, so when the leader dies its key expires at most one
// TTL after its last renewal and a standby holds it one retry later: within
// two TTLs. [Elector.Run] also waits, up to a TTL, for a holder that neither
// runs the tick nor renews, so the tick that falls in a dead leader's last
// TTL is run by the new leader instead of being lost. A replica gives the
// lease up (DEL, not expiry) as soon as no Keep and no Run of its Elector
// still want it: shutting down hands over at once.
//
// # Once per tick
//
// A lease alone cannot stop a tick running twice: the old leader may have
// run it just before the handover, or a replica whose clock is a little late
// may ask after the leader released. So each job also has a mark, the latest
// tick claimed, and a run starts only after a script has checked, in one
// step, that the caller's token holds the lease and that the tick is later
// than the mark, and moved the mark to it. The mark only moves forward, so
// no tick is claimed twice however late a replica asks; that guarantee rests
// on the mark alone, not on TTLs, timers or clocks. A tick is claimed before
// its run, so a run that fails or dies is not repeated by another replica:
// the job runs again at its next tick (at most once, never twice).
//
// # Clocks
//
// TTLs are kept by the Redis server; a replica stops its work early rather
// than late, by the TTL measured from before it sent the renewal (less a
// small drift margin). Replica clocks are never compared for safety. The
// one assumption is that every replica names a tick by the same instant:
// true for cron expressions, which are absolute times in a fixed zone, not
// for robfig/cron's "@every", which counts from each process's start; align
// those to a shared grid (the scheduled time truncated to the interval). A
// replica whose clock runs far behind only skips ticks, it never repeats
// one. Redis must keep what it acknowledged: a Redis that loses the mark (a
// restart without persistence, a failover to a replica that missed the
// write) can repeat the tick in flight.
//
// # Keys
//
// The caller names the lease key; the mark is that key plus ":tick". The
// claim script touches both, so on Redis Cluster the key must carry a hash
// tag ("{prefix}:lease:<job>") that puts both in one slot.
package lease
