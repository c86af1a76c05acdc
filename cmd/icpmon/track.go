package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/status"
	"github.com/icpmon/icpmon/monitor/store"
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
	track := app.Command("track", "Track cancellations: add, list, show, record the administration's decisions.")

	add := track.Command("add", "Start tracking a cancellation; prints its ID.")
	var spec addSpec
	add.Flag("kind", "What is cancelled: subject (注销主体), website (注销网站) or access (取消接入).").Required().EnumVar(&spec.Kind, kindNames()...)
	add.Flag("licence", "The filing number as MIIT shows it, e.g. 京ICP备12345678号-1.").Required().StringVar(&spec.Licence)
	add.Flag("domain", "A domain of the filing, repeatable.").StringsVar(&spec.Domains)
	add.Flag("submitted", "China date the application reached the communications administration, YYYY-MM-DD.").Required().StringVar(&spec.Submitted)
	add.Flag("id", "The ID to use instead of a random one.").StringVar(&spec.ID)
	add.Flag("province", "Licence prefix whose review limit applies, when it is not the licence's own (e.g. 浙).").StringVar(&spec.Province)
	add.Flag("note", "Free text kept with the cancellation.").StringVar(&spec.Note)
	c.command(add, func(ctx context.Context) error { return c.trackAdd(ctx, spec) })

	list := track.Command("list", "List tracked cancellations with their review progress.")
	var statuses, kinds []string
	listOut := outputFlag(list)
	list.Flag("status", "Only this status, repeatable.").EnumsVar(&statuses, statusNames()...)
	list.Flag("kind", "Only this kind, repeatable.").EnumsVar(&kinds, kindNames()...)
	c.command(list, func(ctx context.Context) error { return c.trackList(ctx, statuses, kinds, *listOut) })

	show := track.Command("show", "Show one cancellation, its latest checks and its history.")
	showID := show.Arg("id", "Cancellation ID.").Required().String()
	showOut := outputFlag(show)
	c.command(show, func(ctx context.Context) error { return c.trackShow(ctx, *showID, *showOut) })

	approve := track.Command("approve", "Record that the administration approved a pending cancellation.")
	approveID := approve.Arg("id", "Cancellation ID.").Required().String()
	approveAt := approve.Flag("at", "China date of the approval, YYYY-MM-DD; default today.").String()
	c.command(approve, func(ctx context.Context) error { return c.trackApprove(ctx, *approveID, *approveAt) })

	for _, to := range []cancellation.Status{cancellation.Rejected, cancellation.Withdrawn} {
		cmd := track.Command(to.Verb(), fmt.Sprintf("Record that a pending cancellation was %s.", to))
		id := cmd.Arg("id", "Cancellation ID.").Required().String()
		c.command(cmd, func(ctx context.Context) error { return c.trackTransition(ctx, *id, to, time.Now()) })
	}

	remove := track.Command("remove", "Stop tracking a cancellation; its history is kept.")
	removeID := remove.Arg("id", "Cancellation ID.").Required().String()
	c.command(remove, func(ctx context.Context) error { return c.trackRemove(ctx, *removeID) })

	imp := track.Command("import", "Add many cancellations from a CSV or YAML file, all or none.")
	file := imp.Arg("file", "A .csv file whose header row names the add flags (kind, licence, domain, submitted, id, province, note; several domains in one cell separated by spaces, commas or semicolons), or a .yml/.yaml list of objects with the same keys (domain a list).").Required().String()
	c.command(imp, func(ctx context.Context) error { return c.trackImport(ctx, *file) })
}

func outputFlag(cmd *kingpin.CmdClause) *string {
	return cmd.Flag("output", "Output format: table or json.").Short('o').Default("table").Enum("table", "json")
}

// addSpec is one cancellation as an operator gives it: the flags of
// `track add`, or one row of an import.
type addSpec struct {
	Kind      string
	Licence   string
	Domains   []string
	Submitted string
	ID        string
	Province  string
	Note      string
}

// cancellation checks the spec and builds the cancellation it describes.
// today is the current China date: a submission cannot be later.
// maxDomains is track.max_domains.
func (s addSpec) cancellation(today calendar.Date, maxDomains int) (cancellation.Cancellation, error) {
	if strings.TrimSpace(s.Kind) == "" {
		return cancellation.Cancellation{}, errors.New("kind is missing (want subject, website or access)")
	}
	if strings.TrimSpace(s.Submitted) == "" {
		return cancellation.Cancellation{}, errors.New("submitted date is missing (want YYYY-MM-DD)")
	}
	kind, err := cancellation.ParseKind(strings.TrimSpace(s.Kind))
	if err != nil {
		return cancellation.Cancellation{}, err
	}
	l, err := cancellation.ParseLicence(s.Licence)
	if err != nil {
		return cancellation.Cancellation{}, err
	}
	if err := kind.CheckLicence(l); err != nil {
		return cancellation.Cancellation{}, err
	}
	domains, err := cancellation.NormaliseDomains(s.Domains)
	if err != nil {
		return cancellation.Cancellation{}, err
	}
	if err := cancellation.CheckDomainCount(len(domains), maxDomains); err != nil {
		return cancellation.Cancellation{}, err
	}
	submitted, err := calendar.ParseDate(strings.TrimSpace(s.Submitted))
	if err != nil {
		return cancellation.Cancellation{}, fmt.Errorf("submitted: %w", err)
	}
	if err := cancellation.CheckSubmitted(submitted, today); err != nil {
		return cancellation.Cancellation{}, err
	}
	id := strings.TrimSpace(s.ID)
	if id != "" {
		if err := cancellation.CheckID(id); err != nil {
			return cancellation.Cancellation{}, err
		}
	}
	province := l.Province
	if p := strings.TrimSpace(s.Province); p != "" {
		if !cancellation.IsProvince(p) {
			return cancellation.Cancellation{}, fmt.Errorf("province %q: want a one-character licence prefix, one of %s", p, strings.Join(cancellation.Provinces(), ""))
		}
		province = p
	}
	note := strings.TrimSpace(s.Note)
	if err := cancellation.CheckNote(note); err != nil {
		return cancellation.Cancellation{}, err
	}
	return cancellation.Cancellation{
		ID: id, Kind: kind, Licence: l.Number, LicenceRaw: l.Raw, Domains: domains,
		Province: province, Submitted: submitted, Status: cancellation.Pending, Note: note,
	}, nil
}

func (c *cli) trackAdd(ctx context.Context, spec addSpec) error {
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	want, err := spec.cancellation(calendar.DateOf(time.Now()), cfg.Track.MaxDomains)
	if err != nil {
		return err
	}
	st, closeStore, err := openWritableStore(ctx, cfg, storeTimeout)
	if err != nil {
		return err
	}
	defer closeStore()
	added, err := st.Add(ctx, want, operator())
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(c.stdout, added.ID)
	return err
}

func (c *cli) trackList(ctx context.Context, statuses, kinds []string, output string) error {
	cfg, cal, err := c.configAndCalendar()
	if err != nil {
		return err
	}
	st, closeStore, err := openStoreWith(ctx, cfg, storeTimeout)
	if err != nil {
		return err
	}
	defer closeStore()
	var f store.Filter
	for _, s := range statuses {
		f.Statuses = append(f.Statuses, cancellation.Status(s))
	}
	for _, k := range kinds {
		f.Kinds = append(f.Kinds, cancellation.Kind(k))
	}
	cs, err := st.List(ctx, f)
	if err != nil {
		return err
	}
	now, rules := time.Now(), status.RulesOf(cfg, cal)
	views := make([]view, len(cs))
	var provisional []int
	for i, x := range cs {
		views[i] = newView(rules.Of(x, now))
		provisional = append(provisional, views[i].ProvisionalYears...)
	}
	if output == "json" {
		err = writeJSON(c.stdout, views)
	} else {
		err = writeListTable(c.stdout, views)
	}
	if err != nil {
		return err
	}
	slices.Sort(provisional)
	c.warnProvisional(slices.Compact(provisional))
	return nil
}

func (c *cli) trackShow(ctx context.Context, id, output string) error {
	cfg, cal, err := c.configAndCalendar()
	if err != nil {
		return err
	}
	st, closeStore, err := openStoreWith(ctx, cfg, storeTimeout)
	if err != nil {
		return err
	}
	defer closeStore()
	x, err := st.Get(ctx, id)
	if err != nil {
		return err
	}
	history, err := st.History(ctx, id)
	if err != nil {
		return err
	}
	d := newDetail(x, status.RulesOf(cfg, cal).Of(x, time.Now()), history)
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

func (c *cli) trackApprove(ctx context.Context, id, at string) error {
	now := time.Now()
	when := now
	if at != "" {
		d, err := calendar.ParseDate(at)
		if err != nil {
			return fmt.Errorf("--at: %w", err)
		}
		today := calendar.DateOf(now)
		if d > today {
			return fmt.Errorf("cannot approve %s on %s: the date is in the future (today in China is %s)", id, d, today)
		}
		// An earlier day is taken from its start: the reach grace then ends
		// no later than it really does.
		if d < today {
			when = d.Start()
		}
	}
	return c.trackTransition(ctx, id, cancellation.Approved, when)
}

func (c *cli) trackTransition(ctx context.Context, id string, to cancellation.Status, at time.Time) error {
	st, closeStore, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	before, err := st.Get(ctx, id)
	if err != nil {
		return err
	}
	after, err := st.Transition(ctx, id, to, at, operator(), "")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "%s: %s -> %s\n", id, before.Status, after.Status)
	return err
}

func (c *cli) trackRemove(ctx context.Context, id string) error {
	st, closeStore, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	if err := st.Remove(ctx, id, operator()); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "%s: removed; its history is kept\n", id)
	return err
}
