// Package retention deletes what smsretire no longer needs to keep, so the retention periods the
// privacy page states are real: history entries older than --history-retention, sent or given-up
// messages older than --outbox-retention, devices unused for a year, and, once their time is over,
// sessions, verification grants, passkey ceremonies, "this wasn't me" links, one-time codes and the
// limits' counters, answer rows and holds.
//
// Every serve process runs the job; instances take turns through a row in the jobs table (the one
// that moves its next run claims it), and the deletions are idempotent batches of a thousand rows,
// each its own short transaction, so two instances that both ran would do no harm and a large
// backlog never holds a long lock.
package retention

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"time"

	"github.com/smsretire/smsretire/internal/clock"
	"github.com/smsretire/smsretire/internal/device"
	"github.com/smsretire/smsretire/internal/store"
)

// Defaults of the job's settings.
const (
	DefaultEvery = time.Hour
	DefaultBatch = 1000
	jobName      = "retention"
)

// Settings say how long things are kept and how often the job runs.
type Settings struct {
	History time.Duration // history entries older than this are deleted; 0 keeps them
	Outbox  time.Duration // sent or given-up messages and events older than this are deleted; 0 keeps them
	Every   time.Duration // how often the job runs (DefaultEvery)
	Batch   int           // rows per delete statement (DefaultBatch)
}

// Job deletes what is past its keeping.
type Job struct {
	st    *store.SQL
	clock clock.Clock
	log   *slog.Logger
	set   Settings
	owner string // names this instance in the jobs table
}

// New returns the retention job.
func New(st *store.SQL, clk clock.Clock, log *slog.Logger, set Settings) *Job {
	if set.Every <= 0 {
		set.Every = DefaultEvery
	}
	if set.Batch <= 0 {
		set.Batch = DefaultBatch
	}
	b := make([]byte, 8)
	rand.Read(b)
	return &Job{st: st, clock: clk, log: log, set: set, owner: hex.EncodeToString(b)}
}

// Settings returns the settings in force.
func (j *Job) Settings() Settings { return j.set }

// RunOnce runs the job now if it is due and this instance claims the run; ran is false when
// another instance has it (or ran it less than Every ago). It returns the rows deleted, by table.
func (j *Job) RunOnce(ctx context.Context) (deleted store.Purged, ran bool, err error) {
	now := j.clock.Now()
	ok, err := j.st.ClaimJob(ctx, jobName, j.owner, now, now.Add(j.set.Every))
	if err != nil || !ok {
		return nil, false, err
	}
	deleted, err = j.Purge(ctx, now)
	return deleted, true, err
}

// Purge deletes, whether the run was claimed or not, everything past its keeping at now.
func (j *Job) Purge(ctx context.Context, now time.Time) (store.Purged, error) {
	out := store.Purged{}
	if j.set.History > 0 {
		n, err := j.st.PurgeHistory(ctx, now.Add(-j.set.History), j.set.Batch)
		out["events"] = n
		if err != nil {
			return out, err
		}
	}
	if j.set.Outbox > 0 {
		n, err := j.st.PurgeOutbox(ctx, now.Add(-j.set.Outbox), j.set.Batch)
		out["outbox"] = n
		if err != nil {
			return out, err
		}
	}
	n, err := j.st.PurgeDevices(ctx, now.Add(-device.Lifetime), j.set.Batch)
	out["devices"] = n
	if err != nil {
		return out, err
	}
	spent, err := j.st.PurgeSpent(ctx, now, j.set.Batch)
	for k, v := range spent {
		out[k] += v
	}
	return out, err
}

// Run runs the job a minute after it starts (sooner when Every is shorter) and then every Every,
// until ctx ends. Errors are logged;
// the next run tries again.
func (j *Job) Run(ctx context.Context) {
	t := time.NewTimer(min(time.Minute, j.set.Every)) // let the instance settle first
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		deleted, ran, err := j.RunOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			j.log.Error("retention", "err", err)
		case ran && deleted.Total() > 0:
			j.log.Info("retention: deleted what is past its keeping", "rows", deleted.Total(), "by_table", map[string]int(deleted))
		}
		t.Reset(j.set.Every)
	}
}
