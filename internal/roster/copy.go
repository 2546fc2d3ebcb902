package roster

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/phone"
	"github.com/smsretire/smsretire/internal/store"
)

// Copier loads roster entries in bulk: store.SQL on PostgreSQL, with COPY.
type Copier interface {
	CopyUsers(ctx context.Context, next func() (campaign.RosterEntry, bool, error), chunk int, now time.Time) (store.UpsertResult, error)
}

// ImportCopy streams the CSV from r into st with COPY, opt.BatchSize rows per transaction
// (store.DefaultCopyChunk when 0). It reads, validates and reports rows exactly as Import does,
// and counts alike, but memory stays flat however long the file: good rows stream to the
// database as they are read, at most about 65,000 of them checked ahead, and PostgreSQL merges a
// chunk at a time. Rows are checked on every core (phone numbers are the costly part) while the
// file is read in order, and problems are reported in file order. It fails only on an unreadable
// header or file or a store error; chunks already loaded then stay.
func ImportCopy(ctx context.Context, r io.Reader, st Copier, opt Options) (Summary, error) {
	if opt.Region == "" {
		opt.Region = phone.DefaultRegion
	}
	if opt.OnProblem == nil {
		opt.OnProblem = func(Problem) {}
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return Summary{}, fmt.Errorf("read header: %w", err)
	}
	idx, err := columnIndex(header)
	if err != nil {
		return Summary{}, err
	}
	rows := startChecking(cr, idx, opt, runtime.GOMAXPROCS(0))
	defer rows.stop()
	res, err := st.CopyUsers(ctx, rows.next, opt.BatchSize, opt.Now)
	sum := rows.sum
	sum.Added, sum.Updated = res.Added, res.Updated
	if err != nil {
		return sum, fmt.Errorf("import: %w", err)
	}
	return sum, nil
}

const (
	runRows     = 256 // rows a checker takes at once
	runsInReach = 256 // runs read ahead of the database, at most: about 65,000 rows
)

// rawRow is one record as read, or the syntax error in its place.
type rawRow struct {
	line   int
	fields []string
	syntax string // the CSV syntax error, when the record could not be read
}

// run is a stretch of consecutive rows: read together, checked by one checker, handed out in
// file order.
type run struct {
	raw      []rawRow
	readErr  error // the file broke off after these rows
	rows     int
	entries  []campaign.RosterEntry
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
}

func startChecking(cr *csv.Reader, idx map[string]int, opt Options, checkers int) *checkedRows {
	c := &checkedRows{opt: opt, ordered: make(chan chan run, runsInReach), quit: make(chan struct{})}
	type job struct {
		r   run
		out chan run
	}
	jobs := make(chan job)
	c.done.Add(1 + checkers)
	go func() { // the reader: the only one to touch cr
		defer c.done.Done()
		defer close(jobs)
		defer close(c.ordered)
		for end := false; !end; {
			var r run
			for len(r.raw) < runRows {
				rec, err := cr.Read()
				if errors.Is(err, io.EOF) {
					end = true
					break
				}
				var pe *csv.ParseError
				if errors.As(err, &pe) {
					r.raw = append(r.raw, rawRow{line: pe.StartLine, syntax: pe.Err.Error()})
					continue
				}
				if err != nil {
					r.readErr, end = fmt.Errorf("read csv: %w", err), true
					break
				}
				line, _ := cr.FieldPos(0)
				r.raw = append(r.raw, rawRow{line: line, fields: rec})
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
			for j := range jobs {
				r := j.r
				for _, raw := range r.raw {
					r.rows++
					if raw.fields == nil {
						r.problems = append(r.problems, Problem{Line: raw.line, Reason: raw.syntax})
						continue
					}
					e, reason := parseRow(raw.fields, idx, opt)
					if reason != "" {
						r.problems = append(r.problems, Problem{Line: raw.line, Reason: reason})
						continue
					}
					r.entries = append(r.entries, e)
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
		c.sum.Rejected += len(c.cur.problems)
		for _, p := range c.cur.problems {
			c.opt.OnProblem(p)
		}
	}
}

// stop ends the reader and the checkers, whether or not every row was taken.
func (c *checkedRows) stop() {
	close(c.quit)
	c.done.Wait()
}
