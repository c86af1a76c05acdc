package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/track"
)

func kindNames() []string {
	var out []string
	for _, k := range cancellation.Kinds() {
		out = append(out, string(k))
	}
	return out
}

func statusNames() []string {
	var out []string
	for _, s := range cancellation.Statuses() {
		out = append(out, string(s))
	}
	return out
}

func (c *cli) registerTrack(app *kingpin.Application) {
	trackCmd := app.Command("track", "Track cancellations: add, list, show, record the administration's decisions.")

	var srv serverFlags
	srv.register(trackCmd)

	add := trackCmd.Command("add", "Start tracking a cancellation; prints its ID.")
	var spec track.Spec
	add.Flag("kind", "What is cancelled: subject (注销主体), website (注销网站) or access (取消接入).").Required().EnumVar(&spec.Kind, kindNames()...)
	add.Flag("licence", "The filing number as MIIT shows it, e.g. 京ICP备12345678号-1.").Required().StringVar(&spec.Licence)
	add.Flag("domain", "A domain of the filing, repeatable.").StringsVar(&spec.Domains)
	add.Flag("submitted", "China date the application reached the communications administration, YYYY-MM-DD.").Required().StringVar(&spec.Submitted)
	add.Flag("id", "The ID to use instead of a random one.").StringVar(&spec.ID)
	add.Flag("province", "Licence prefix whose review limit applies, when it is not the licence's own (e.g. 浙).").StringVar(&spec.Province)
	add.Flag("note", "Free text kept with the cancellation.").StringVar(&spec.Note)
	c.command(add, func(ctx context.Context) error { return c.trackAdd(ctx, srv, spec) })

	list := trackCmd.Command("list", "List tracked cancellations with their review progress.")
	var statuses, kinds []string
	listOut := outputFlag(list)
	list.Flag("status", "Only this status, repeatable.").EnumsVar(&statuses, statusNames()...)
	list.Flag("kind", "Only this kind, repeatable.").EnumsVar(&kinds, kindNames()...)
	c.command(list, func(ctx context.Context) error { return c.trackList(ctx, srv, statuses, kinds, *listOut) })

	show := trackCmd.Command("show", "Show one cancellation, its latest checks and its history.")
	showID := show.Arg("id", "Cancellation ID.").Required().String()
	showOut := outputFlag(show)
	c.command(show, func(ctx context.Context) error { return c.trackShow(ctx, srv, *showID, *showOut) })

	approve := trackCmd.Command("approve", "Record that the administration approved a pending cancellation.")
	approveID := approve.Arg("id", "Cancellation ID.").Required().String()
	approveAt := approve.Flag("at", "China date of the approval, YYYY-MM-DD; default today.").String()
	c.command(approve, func(ctx context.Context) error { return c.trackApprove(ctx, srv, *approveID, *approveAt) })

	for _, to := range []cancellation.Status{cancellation.Rejected, cancellation.Withdrawn} {
		cmd := trackCmd.Command(to.Verb(), fmt.Sprintf("Record that a pending cancellation was %s.", to))
		id := cmd.Arg("id", "Cancellation ID.").Required().String()
		c.command(cmd, func(ctx context.Context) error { return c.trackTransition(ctx, srv, *id, to) })
	}

	remove := trackCmd.Command("remove", "Stop tracking a cancellation; its history is kept.")
	removeID := remove.Arg("id", "Cancellation ID.").Required().String()
	c.command(remove, func(ctx context.Context) error { return c.trackRemove(ctx, srv, *removeID) })

	imp := trackCmd.Command("import", "Add many cancellations from a CSV or YAML file, all or none.")
	file := imp.Arg("file", "A .csv file whose header row names the add flags (kind, licence, domain, submitted, id, province, note; several domains in one cell separated by spaces, commas or semicolons), or a .yml/.yaml list of objects with the same keys (domain a list).").Required().String()
	c.command(imp, func(ctx context.Context) error {
		// The API adds one cancellation per request: an import through it
		// could stop half-way, and an import is all or nothing.
		if srv.url != "" {
			return errors.New("track import needs direct Redis access (it adds all or nothing in one Redis script): run it without --server, with --redis-url or --config")
		}
		return c.trackImport(ctx, *file)
	})
}

func outputFlag(cmd *kingpin.CmdClause) *string {
	return cmd.Flag("output", "Output format: table or json.").Short('o').Default("table").Enum("table", "json")
}

// trackService is where the track commands act: the daemon's API with
// --server, else Redis directly. A command that writes gives the store its
// identity first (openWritableStore). The returned function releases it.
func (c *cli) trackService(ctx context.Context, srv serverFlags, write bool) (track.Service, func(), error) {
	if srv.url != "" {
		client, err := srv.client()
		if err != nil {
			return nil, nil, err
		}
		return client, func() {}, nil
	}
	cfg, cal, err := c.configAndCalendar()
	if err != nil {
		return nil, nil, err
	}
	open := openStoreWith
	if write {
		open = openWritableStore
	}
	st, closeStore, err := open(ctx, cfg, storeTimeout)
	if err != nil {
		return nil, nil, err
	}
	return &track.Local{Store: st, Config: cfg, Calendar: cal, Actor: operator(), Now: time.Now}, closeStore, nil
}

func (c *cli) trackAdd(ctx context.Context, srv serverFlags, spec track.Spec) error {
	// Bad input is told as such before Redis is asked, reachable or not;
	// the API checks the same on its side.
	if srv.url == "" {
		cfg, err := c.loadConfig()
		if err != nil {
			return err
		}
		if _, err := spec.Cancellation(calendar.DateOf(time.Now()), cfg.Track.MaxDomains); err != nil {
			return err
		}
	}
	svc, release, err := c.trackService(ctx, srv, true)
	if err != nil {
		return err
	}
	defer release()
	added, err := svc.Add(ctx, spec)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(c.stdout, added.ID)
	return err
}

func (c *cli) trackList(ctx context.Context, srv serverFlags, statuses, kinds []string, output string) error {
	svc, release, err := c.trackService(ctx, srv, false)
	if err != nil {
		return err
	}
	defer release()
	var f store.Filter
	for _, s := range statuses {
		f.Statuses = append(f.Statuses, cancellation.Status(s))
	}
	for _, k := range kinds {
		f.Kinds = append(f.Kinds, cancellation.Kind(k))
	}
	views, err := svc.List(ctx, f)
	if err != nil {
		return err
	}
	if output == "json" {
		err = writeJSON(c.stdout, views)
	} else {
		err = writeListTable(c.stdout, views)
	}
	if err != nil {
		return err
	}
	var provisional []int
	for _, v := range views {
		provisional = append(provisional, v.ProvisionalYears...)
	}
	slices.Sort(provisional)
	c.warnProvisional(slices.Compact(provisional))
	return nil
}

func (c *cli) trackShow(ctx context.Context, srv serverFlags, id, output string) error {
	svc, release, err := c.trackService(ctx, srv, false)
	if err != nil {
		return err
	}
	defer release()
	d, err := svc.Show(ctx, id)
	if err != nil {
		return err
	}
	if output == "json" {
		err = writeJSON(c.stdout, d)
	} else {
		err = writeDetailTable(c.stdout, d)
	}
	if err != nil {
		return err
	}
	c.warnProvisional(d.ProvisionalYears)
	return nil
}

func (c *cli) trackApprove(ctx context.Context, srv serverFlags, id, at string) error {
	svc, release, err := c.trackService(ctx, srv, true)
	if err != nil {
		return err
	}
	defer release()
	d, err := svc.Approve(ctx, id, at)
	if err != nil {
		return err
	}
	return c.printTransition(d, cancellation.Approved)
}

func (c *cli) trackTransition(ctx context.Context, srv serverFlags, id string, to cancellation.Status) error {
	svc, release, err := c.trackService(ctx, srv, true)
	if err != nil {
		return err
	}
	defer release()
	d, err := svc.Transition(ctx, id, to)
	if err != nil {
		return err
	}
	return c.printTransition(d, to)
}

// printTransition says what a decision changed: "ID: from -> to".
func (c *cli) printTransition(d track.Detail, to cancellation.Status) error {
	e, ok := d.Transition(to)
	if !ok {
		return fmt.Errorf("%s is %s, but its history does not show the %s", d.ID, d.Status, to.Verb())
	}
	_, err := fmt.Fprintf(c.stdout, "%s: %s -> %s\n", d.ID, e.From, e.To)
	return err
}

func (c *cli) trackRemove(ctx context.Context, srv serverFlags, id string) error {
	svc, release, err := c.trackService(ctx, srv, true)
	if err != nil {
		return err
	}
	defer release()
	if err := svc.Remove(ctx, id); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "%s: removed; its history is kept\n", id)
	return err
}
