package roster

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
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
// and counts alike, but holds no batch in memory: each good row goes to the database as it is
// read, and PostgreSQL merges a chunk at a time. It fails only on an unreadable header or file or
// a store error; chunks already loaded then stay.
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
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return Summary{}, fmt.Errorf("read header: %w", err)
	}
	idx, err := columnIndex(header)
	if err != nil {
		return Summary{}, err
	}
	rows := &goodRows{cr: cr, idx: idx, opt: opt}
	res, err := st.CopyUsers(ctx, rows.next, opt.BatchSize, opt.Now)
	sum := rows.sum
	sum.Added, sum.Updated = res.Added, res.Updated
	if err != nil {
		return sum, fmt.Errorf("import: %w", err)
	}
	return sum, nil
}

// goodRows reads the CSV a row at a time, reporting each bad row and counting every row read,
// and hands out the good ones.
type goodRows struct {
	cr  *csv.Reader
	idx map[string]int
	opt Options
	sum Summary
}

// next returns the next good row, or false at the end of the file.
func (g *goodRows) next() (campaign.RosterEntry, bool, error) {
	for {
		rec, err := g.cr.Read()
		if errors.Is(err, io.EOF) {
			return campaign.RosterEntry{}, false, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				g.sum.Rows++
				g.sum.Rejected++
				g.opt.OnProblem(Problem{Line: pe.StartLine, Reason: pe.Err.Error()})
				continue
			}
			return campaign.RosterEntry{}, false, fmt.Errorf("read csv: %w", err)
		}
		line, _ := g.cr.FieldPos(0)
		g.sum.Rows++
		e, reason := parseRow(rec, g.idx, g.opt)
		if reason != "" {
			g.sum.Rejected++
			g.opt.OnProblem(Problem{Line: line, Reason: reason})
			continue
		}
		return e, true, nil
	}
}
