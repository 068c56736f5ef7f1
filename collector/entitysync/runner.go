package entitysync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"golang.org/x/sync/errgroup"

	"github.com/vpcflow/vpcflow/collector/awssync"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/vmclient"
)

// The reasons of a failed sync (the reason label of
// vpcflow_sync_errors_total), a bounded set; Reasons lists them.
const (
	// ReasonCredentials: the credentials do not resolve (a variable or
	// file of a key missing).
	ReasonCredentials = "credentials"
	// ReasonWrongAccount: the credentials describe another account's
	// entities (WrongAccountError); nothing is written.
	ReasonWrongAccount = "wrong_account"
	// ReasonAuthFailure: EC2 did not accept the credentials (AuthFailure).
	ReasonAuthFailure = "auth_failure"
	// ReasonAccessDenied: a Describe permission is missing
	// (UnauthorizedOperation); what the others found is written.
	ReasonAccessDenied = "access_denied"
	// ReasonThrottled: EC2 kept throttling (RequestLimitExceeded) past
	// the retries.
	ReasonThrottled = "throttled"
	// ReasonTimeout: the sync took longer than the timeout.
	ReasonTimeout = "timeout"
	// ReasonUnreachable: the EC2 endpoint could not be reached.
	ReasonUnreachable = "unreachable"
	// ReasonStorage: the series could not be written to VictoriaMetrics.
	ReasonStorage = "storage"
	// ReasonOther is any other failure.
	ReasonOther = "other"
)

// Reasons are the reasons of a failed sync, in the order Reason tries
// them.
var Reasons = []string{ReasonCredentials, ReasonWrongAccount, ReasonStorage, ReasonAuthFailure, ReasonAccessDenied,
	ReasonThrottled, ReasonTimeout, ReasonUnreachable, ReasonOther}

// Defaults of Options.
const (
	// DefaultCheckEvery is how often Run looks for account·regions new in
	// the records stored, and for failed ones due again.
	DefaultCheckEvery = time.Minute
	// DefaultRetryAfter is how long after a failure an account·region is
	// synced again (at most the interval).
	DefaultRetryAfter = 5 * time.Minute
)

// Writer writes series to the storage (a *vmclient.Client).
type Writer interface {
	Write(ctx context.Context, series []vmclient.Series) error
}

// Options configure a Runner.
type Options struct {
	// Config is the sync section.
	Config Config
	// Sources are the configured sources: their credentials sync the
	// accounts learned from them, their folders show which (Discover).
	Sources []source.Config
	// Learned returns the accounts and regions of the records stored so
	// far, by source (the pipeline's exporters); nil for none.
	Learned func() []Learned
	// Store receives the series.
	Store Writer
	// Logger logs each outcome; default none.
	Logger *slog.Logger
	// Now stamps the samples; default time.Now.
	Now func() time.Time
	// OnOutcome, if set, is called after each account·region's sync, one
	// call at a time.
	OnOutcome func(Outcome)
	// Directory, if set, takes in the interfaces of every account·region
	// synced (their private addresses name pair owners: pipeline.Options.
	// Directory); not when DescribeNetworkInterfaces failed, so that what
	// it knew of them stays.
	Directory *awssync.Directory
	// CheckEvery and RetryAfter time Run between its rounds; defaults
	// DefaultCheckEvery and DefaultRetryAfter, each at most the interval.
	CheckEvery, RetryAfter time.Duration
}

// Runner syncs the account·regions of a configuration.
type Runner struct {
	opts   Options
	status *Status

	mu         sync.Mutex
	sources    []source.Config
	discovered []Learned // the folders found by the latest Round
	outcomeMu  sync.Mutex
}

// New returns a Runner. It sends no request.
func New(opts Options) *Runner {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	def := DefaultConfig()
	c := &opts.Config
	if c.Interval <= 0 {
		c.Interval = def.Interval
	}
	if c.Timeout <= 0 {
		c.Timeout = def.Timeout
	}
	if c.Concurrency < 1 {
		c.Concurrency = def.Concurrency
	}
	if opts.CheckEvery <= 0 {
		opts.CheckEvery = DefaultCheckEvery
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = DefaultRetryAfter
	}
	opts.CheckEvery, opts.RetryAfter = min(opts.CheckEvery, c.Interval), min(opts.RetryAfter, c.Interval)
	return &Runner{opts: opts, status: NewStatus(), sources: opts.Sources}
}

// Status returns the outcomes kept for /metrics.
func (r *Runner) Status() *Status { return r.status }

// SetSources replaces the configured sources (a configuration reload):
// the next sync takes their credentials and folders.
func (r *Runner) SetSources(sources []source.Config) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sources = sources
}

func (r *Runner) currentSources() []source.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sources
}

// Targets returns the account·regions to sync now: the configured ones,
// and those learned from the flow logs (listing the sources' folders
// when list is true, else those found by the latest listing) and from
// the records stored. Listing errors are logged.
func (r *Runner) Targets(ctx context.Context, list bool) []Target {
	cfg := r.opts.Config
	sources := r.currentSources()
	var learned []Learned
	if cfg.needsDiscovery() {
		r.mu.Lock()
		found := r.discovered
		r.mu.Unlock()
		if list {
			var errs []error
			found, errs = Discover(ctx, sources, cfg.Timeout)
			for _, err := range errs {
				r.opts.Logger.Warn("entity sync: "+err.Error(), "component", "sync")
			}
			r.mu.Lock()
			r.discovered = found
			r.mu.Unlock()
		}
		learned = append(learned, found...)
		if r.opts.Learned != nil {
			learned = append(learned, r.opts.Learned()...)
		}
	}
	return cfg.Targets(sources, learned)
}

// Round syncs every account·region once (Targets, listing the folders),
// Concurrency at a time, and returns the outcomes in the order of the
// targets. Each outcome is kept for /metrics, logged and passed to
// OnOutcome as it comes.
func (r *Runner) Round(ctx context.Context) []Outcome {
	return r.syncAll(ctx, r.Targets(ctx, true))
}

// syncAll syncs the targets, Concurrency at a time.
func (r *Runner) syncAll(ctx context.Context, targets []Target) []Outcome {
	out := make([]Outcome, len(targets))
	var g errgroup.Group
	g.SetLimit(r.opts.Config.Concurrency)
	for i, t := range targets {
		g.Go(func() error {
			out[i] = r.SyncOne(ctx, t)
			return nil
		})
	}
	_ = g.Wait()
	return out
}

// Run syncs at once and then every interval (Round), until ctx is done.
// Between rounds it checks every minute (CheckEvery) for account·regions
// it has not synced yet (new in the records stored) and for failed ones
// whose failure is older than 5 minutes (RetryAfter), and syncs those.
// Rounds never overlap; a failure is logged and never stops it.
func (r *Runner) Run(ctx context.Context) {
	r.Round(ctx)
	full := time.NewTicker(r.opts.Config.Interval)
	defer full.Stop()
	check := time.NewTicker(r.opts.CheckEvery)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-full.C:
			r.Round(ctx)
		case <-check.C:
			r.syncAll(ctx, r.due(r.Targets(ctx, false)))
		}
	}
}

// due returns the targets never synced, and those whose latest sync
// failed RetryAfter ago or longer.
func (r *Runner) due(targets []Target) []Target {
	wait := r.opts.RetryAfter
	now := r.opts.Now()
	var out []Target
	for _, t := range targets {
		st, ok := r.status.target(t.Account, t.Region)
		if !ok || !st.Up && now.Sub(st.LastAttempt) >= wait {
			out = append(out, t)
		}
	}
	return out
}

// Outcome is what one account·region's sync did.
type Outcome struct {
	Target Target
	// Start is when the sync began: the time of its samples.
	Start time.Time
	// Duration is how long it took, its write included.
	Duration time.Duration
	// Result is what it found (partial when a permission is missing).
	Result awssync.Result
	// Series is how many series it wrote (0 when the write failed).
	Series int
	// Err is why it failed (nil on success). A missing permission
	// (awssync.AccessErrors) leaves the rest written.
	Err error
}

// OK reports whether the sync succeeded.
func (o Outcome) OK() bool { return o.Err == nil }

// Reason is the failure's reason, one of Reasons ("" on success).
func (o Outcome) Reason() string { return Reason(o.Err) }

// String is one line: "123456789012/us-east-1: 3 VPCs, 12 subnets, 240
// interfaces, 180 instances, 6 AZs synced (441 series written)"; when the
// sync failed, "FAILED (reason): " and the error, after what it wrote if
// it wrote anything.
func (o Outcome) String() string {
	var b strings.Builder
	b.WriteString(o.Target.String() + ": ")
	switch {
	case o.OK():
		fmt.Fprintf(&b, "%s (%d series written)", o.Result.Summary(), o.Series)
	case o.Series > 0: // a permission missing: what the others found is written
		fmt.Fprintf(&b, "%s (%d series written); FAILED (%s): %v", o.Result.Summary(), o.Series, o.Reason(), o.Err)
	default:
		fmt.Fprintf(&b, "FAILED (%s): %v", o.Reason(), o.Err)
	}
	return b.String()
}

// Reason classifies a sync's error into one of Reasons ("" for nil).
func Reason(err error) string {
	if err == nil {
		return ""
	}
	var ce *credentialsError
	var we *WrongAccountError
	var se *storageError
	var api smithy.APIError
	var send *smithyhttp.RequestSendError
	switch {
	case errors.As(err, &ce):
		return ReasonCredentials
	case errors.As(err, &we):
		return ReasonWrongAccount
	case errors.As(err, &se):
		return ReasonStorage // also when it timed out: the storage failed
	case slices.ContainsFunc(awssync.AccessErrors(err), func(e *awssync.AccessError) bool { return e.Code == "AuthFailure" }):
		return ReasonAuthFailure
	case len(awssync.AccessErrors(err)) > 0:
		return ReasonAccessDenied
	case errors.As(err, &api) && api.ErrorCode() == "RequestLimitExceeded":
		return ReasonThrottled
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	case errors.As(err, &send):
		return ReasonUnreachable
	}
	return ReasonOther
}

// credentialsError is a sync's credentials that do not resolve.
type credentialsError struct{ err error }

func (e *credentialsError) Error() string { return e.err.Error() }
func (e *credentialsError) Unwrap() error { return e.err }

// storageError is a failed write of a sync's series.
type storageError struct{ err error }

func (e *storageError) Error() string { return "write the entity series: " + e.err.Error() }
func (e *storageError) Unwrap() error { return e.err }

// WrongAccountError is a sync whose credentials describe another
// account's interfaces and instances than the one it syncs: nothing is
// written, as the series would name that account's entities as this
// one's. It happens with a central log bucket, whose credentials belong
// to the log archive account while its flow logs come from others.
type WrongAccountError struct {
	// Target is the account·region synced; Owners the accounts that own
	// what the credentials describe.
	Target Target
	Owners []string
}

// Error says what was found and what to do.
func (e *WrongAccountError) Error() string {
	return fmt.Sprintf("the credentials (of %s) describe the interfaces and instances of account %s, not %s: nothing written; "+
		"a log bucket's credentials describe the bucket's own account, not the accounts whose flow logs it holds: "+
		"list %s in sync.accounts with credentials of that account (role_arn and external_id for a role in it)",
		e.Target.From, strings.Join(e.Owners, ", "), e.Target.Account, e.Target.Account)
}

// checkOwner returns a *WrongAccountError when the result has interfaces
// or instances that say their owner and none is the account's. VPCs and
// subnets do not count: a shared one is its owner's.
func checkOwner(t Target, res awssync.Result) error {
	var owners []string
	for _, es := range [][]awssync.Entity{res.Interfaces, res.Instances} {
		for _, e := range es {
			switch e.OwnerID {
			case "":
			case t.Account:
				return nil
			default:
				if !slices.Contains(owners, e.OwnerID) {
					owners = append(owners, e.OwnerID)
				}
			}
		}
	}
	if len(owners) == 0 {
		return nil
	}
	slices.Sort(owners)
	return &WrongAccountError{Target: t, Owners: owners}
}

// syncer returns the awssync configuration of a target.
func (c Config) syncer(t Target) awssync.Config {
	return awssync.Config{Endpoint: t.Endpoint, Region: t.Region, Tags: c.Tags, Credentials: t.Credentials,
		MaxAttempts: c.MaxAttempts, MaxBackoff: c.MaxBackoff}
}

// SyncOne syncs one account·region, bounded by the timeout: it describes
// its entities, checks that they are the account's (checkOwner), and
// writes their series stamped at the sync's start. A missing permission
// leaves what the other Describe actions found written. The outcome is
// kept for /metrics, logged and passed to OnOutcome, unless ctx ended
// (the collector stopping) before the sync did.
func (r *Runner) SyncOne(ctx context.Context, t Target) Outcome {
	o := r.syncOne(ctx, t)
	if !o.OK() && ctx.Err() != nil {
		return o
	}
	r.status.Record(o)
	log := r.opts.Logger.With("component", "sync", "account_id", t.Account, "region", t.Region)
	if o.OK() {
		log.Info("entity sync done", "synced", o.Result.Summary(), "series", o.Series, "duration", o.Duration.Round(time.Millisecond))
	} else {
		log.Error("entity sync failed", "reason", o.Reason(), "err", o.Err, "from", t.From, "series", o.Series)
	}
	if r.opts.OnOutcome != nil {
		r.outcomeMu.Lock()
		r.opts.OnOutcome(o)
		r.outcomeMu.Unlock()
	}
	return o
}

func (r *Runner) syncOne(ctx context.Context, t Target) (o Outcome) {
	o = Outcome{Target: t, Start: r.opts.Now(), Result: awssync.Result{Region: t.Region}}
	began := time.Now()
	defer func() { o.Duration = time.Since(began) }()
	ctx, cancel := context.WithTimeout(ctx, r.opts.Config.Timeout)
	defer cancel()
	s, err := awssync.New(ctx, r.opts.Config.syncer(t))
	if err != nil {
		o.Err = &credentialsError{fmt.Errorf("%s (%s): %w", t, t.From, err)}
		return o
	}
	res, err := s.Sync(ctx)
	o.Result = res
	if err != nil && len(awssync.AccessErrors(err)) == 0 {
		o.Err = err
		return o
	}
	if werr := checkOwner(t, res); werr != nil {
		o.Err = werr
		return o
	}
	if r.opts.Directory != nil && !denied(err, awssync.DescribeNetworkInterfaces) {
		r.opts.Directory.Update(t.Account, res)
	}
	series := awssync.Series(res, t.Account, o.Start)
	if len(series) > 0 {
		if werr := r.opts.Store.Write(ctx, series); werr != nil {
			o.Err = errors.Join(err, &storageError{werr})
			return o
		}
	}
	o.Series, o.Err = len(series), err
	return o
}

// denied reports whether err holds an access error for action.
func denied(err error, action string) bool {
	for _, ae := range awssync.AccessErrors(err) {
		if ae.Action == action {
			return true
		}
	}
	return false
}
