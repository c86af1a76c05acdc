package daemon

import (
	"context"

	"github.com/icpmon/icpmon/monitor/store"
)

// heldStore is the store whose view is served: adopted at the first load
// and again after each reload, and lost when its identity vanishes or
// changes under the daemon (checkIdentity). Only the follower touches it.
type heldStore struct {
	from     *store.Store // what it was adopted through; nil before the first adoption
	identity store.Identity
	lost     bool
}

// adopt makes the store behind st the held one when there is none yet, when
// the configuration brought another store, or when a reload asked for it;
// the store gets an identity if it has none.
func (d *daemon) adopt(ctx context.Context, st *store.Store) error {
	ack := d.acknowledge.Load()
	if d.held.from == st && !ack {
		return nil
	}
	id, err := st.EnsureIdentity(ctx)
	if err != nil {
		return err
	}
	if ack {
		if id, err = st.Acknowledge(ctx, id.ID); err != nil {
			return err
		}
	}
	if was := d.held; was.from != nil && (was.lost || was.identity.ID != id.ID) {
		d.log.Warn("adopting the store as it is now; its view is served again",
			"was", was.identity.ID, "was_created", was.identity.Created, "was_lost", was.lost,
			"store", id.ID, "created", id.Created)
	} else {
		d.log.Info("store adopted", "store", id.ID, "created", id.Created)
	}
	d.held = heldStore{from: st, identity: id}
	d.live.from = nil // load the adopted store whole
	d.storeLost.Store(nil)
	d.acknowledge.Store(false)
	d.metrics.StoreAdopted(id.Created, id.Acknowledged)
	return nil
}
