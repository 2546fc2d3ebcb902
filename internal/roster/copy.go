package roster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/store"
)

// Copier loads roster entries in bulk: store.SQL on PostgreSQL, with COPY.
type Copier interface {
	CopyUsers(ctx context.Context, next func() (campaign.RosterEntry, bool, error), chunk int, now time.Time) (store.UpsertResult, error)
}

// ImportCopy streams the roster file from r into st with COPY, opt.BatchSize rows per transaction
// (store.DefaultCopyChunk when 0). It reads files, reports rows and counts exactly as Import
// does, but memory stays flat however long the file (but for 16 to 32 bytes a row to refuse a
// user ID named twice): good rows stream to the database as they are read, at most about 65,000
// of them checked ahead, and PostgreSQL merges a chunk at a time. Rows are checked on every core
// (phone numbers are the costly part) while the file is read in order, and problems are reported
// in file order. It fails only on a file in no encoding it knows or an unreadable header, before
// any row is loaded, or on an unreadable file or a store error; chunks already loaded then stay.
func ImportCopy(ctx context.Context, r io.Reader, st Copier, opt Options) (Summary, error) {
	opt.defaults()
	src, idx, err := openSource(r)
	if err != nil {
		return Summary{}, err
	}
	opt.OnFormat(src.format)
	rows := startChecking(src, idx, opt, runtime.GOMAXPROCS(0))
	defer rows.stop()
	res, err := st.CopyUsers(ctx, rows.next, opt.BatchSize, opt.Now)
	sum := rows.sum
	sum.Format = src.format
	sum.Added, sum.Updated, sum.Unchanged = res.Added, res.Updated, res.Unchanged
	if err != nil {
		return sum, fmt.Errorf("import: %w", err)
	}
	return sum, markMissing(ctx, st, rows.seen, &sum, opt)
}

const (
	runRows     = 256 // rows a checker takes at once
	runsInReach = 256 // runs read ahead of the database, at most: about 65,000 rows
)

// rawRow is one line as read, or why it could not be read.
type rawRow struct {
	line    int
	text    string
	problem string // why the line could not be read
}

// run is a stretch of consecutive rows: read together, checked by one checker, handed out in
// file order.
type run struct {
	raw      []rawRow
	readErr  error // the file broke off after these rows
	rows     int
	entries  []campaign.RosterEntry
	lines    []int // of the entries
	problems []Problem
}

// checkedRows reads the CSV in one goroutine, checks runs of rows in several, and hands out the
// good rows in file order through next, reporting the bad ones on the way.
type checkedRows struct {
	opt     Options
	ordered chan chan run // one per run, in file order; each delivers the run once checked
	quit    chan struct{}
	done    sync.WaitGroup
	cur     run
	i       int
	sum     Summary
	seen    *seenIDs
}

func startChecking(src *source, idx map[string]int, opt Options, checkers int) *checkedRows {
	c := &checkedRows{opt: opt, ordered: make(chan chan run, runsInReach), quit: make(chan struct{}), seen: newSeenIDs()}
	type job struct {
		r   run
		out chan run
	}
	jobs := make(chan job)
	c.done.Add(1 + checkers)
	go func() { // the reader: the only one to touch src
		defer c.done.Done()
		defer close(jobs)
		defer close(c.ordered)
		for end := false; !end; {
			var r run
			for len(r.raw) < runRows {
				text, err := src.next()
				if errors.Is(err, io.EOF) {
					end = true
					break
				}
				if errors.Is(err, errLineTooLong) || errors.As(err, new(errNotText)) {
					r.raw = append(r.raw, rawRow{line: src.line, problem: err.Error()})
					continue
				}
				if err != nil {
					r.readErr, end = err, true
					break
				}
				r.raw = append(r.raw, rawRow{line: src.line, text: text})
			}
			out := make(chan run, 1)
			select {
			case c.ordered <- out:
			case <-c.quit:
				return
			}
			select {
			case jobs <- job{r, out}:
			case <-c.quit:
				return
			}
		}
	}()
	for range checkers {
		go func() {
			defer c.done.Done()
			var fields []string
			for j := range jobs {
				r := j.r
				for _, raw := range r.raw {
					r.rows++
					problem := raw.problem
					if problem == "" {
						fields, problem = splitLine(raw.text, src.format.Separator, fields)
					}
					if problem != "" {
						r.problems = append(r.problems, Problem{Line: raw.line, Reason: problem})
						continue
					}
					e, reason := parseRow(fields, idx, opt)
					if reason != "" {
						r.problems = append(r.problems, Problem{Line: raw.line, Reason: reason})
						continue
					}
					r.entries = append(r.entries, e)
					r.lines = append(r.lines, raw.line)
				}
				r.raw = nil
				j.out <- r // buffered: never blocks
			}
		}()
	}
	return c
}

// next returns the next good row, or false at the end of the file.
func (c *checkedRows) next() (campaign.RosterEntry, bool, error) {
	for {
		if c.i < len(c.cur.entries) {
			c.i++
			return c.cur.entries[c.i-1], true, nil
		}
		if c.cur.readErr != nil {
			return campaign.RosterEntry{}, false, c.cur.readErr
		}
		out, ok := <-c.ordered
		if !ok {
			return campaign.RosterEntry{}, false, nil
		}
		c.cur, c.i = <-out, 0
		c.sum.Rows += c.cur.rows
		c.refuseRepeats()
		c.sum.Rejected += len(c.cur.problems)
		for _, p := range c.cur.problems {
			c.opt.OnProblem(p)
		}
	}
}

// refuseRepeats takes out of the current run the rows whose user ID an earlier row loaded, in
// file order, and adds them to the run's problems, kept in line order.
func (c *checkedRows) refuseRepeats() {
	var repeats []Problem
	kept := c.cur.entries[:0]
	for i, e := range c.cur.entries {
		if reason := c.seen.claim(e.ID, c.cur.lines[i]); reason != "" {
			repeats = append(repeats, Problem{Line: c.cur.lines[i], Reason: reason})
			continue
		}
		kept = append(kept, e)
	}
	c.cur.entries = kept
	if len(repeats) > 0 {
		c.cur.problems = append(c.cur.problems, repeats...)
		slices.SortStableFunc(c.cur.problems, func(a, b Problem) int { return a.Line - b.Line })
	}
}

// stop ends the reader and the checkers, whether or not every row was taken.
func (c *checkedRows) stop() {
	close(c.quit)
	c.done.Wait()
}
