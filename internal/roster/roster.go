// Package roster reads the operator's CSV of users who must leave SMS verification and loads it
// into the store, reporting each bad row with its line number.
package roster

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/phone"
	"github.com/smsretire/smsretire/internal/store"
)

// Columns is the CSV header, in any order.
var Columns = []string{"user_id", "phone", "email", "name", "locale", "deadline", "id_last4"}

// Upserter stores a batch of roster entries.
type Upserter interface {
	UpsertUsers(ctx context.Context, entries []campaign.RosterEntry, now time.Time) (store.UpsertResult, error)
}

// Problem is one row that could not be loaded.
type Problem struct {
	Line   int
	Reason string
}

func (p Problem) String() string { return fmt.Sprintf("line %d: %s", p.Line, p.Reason) }

// Summary counts what an import did.
type Summary struct {
	Rows, Added, Updated, Rejected int
}

func (s Summary) String() string {
	return fmt.Sprintf("%d rows read: %d added, %d updated, %d rejected", s.Rows, s.Added, s.Updated, s.Rejected)
}

// Options tune an import.
type Options struct {
	Region    string // for phone numbers without a country code; default CN
	BatchSize int    // rows per transaction; default 1000
	Now       time.Time
	Hasher    *campaign.IDHasher
	OnProblem func(Problem)
}

// Import streams the CSV from r into st in batches. Bad rows are reported and skipped; good rows
// load. It fails only on an unreadable header or a store error.
func Import(ctx context.Context, r io.Reader, st Upserter, opt Options) (Summary, error) {
	if opt.Region == "" {
		opt.Region = phone.DefaultRegion
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 1000
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
	var sum Summary
	batch := make([]campaign.RosterEntry, 0, opt.BatchSize)
	inBatch := map[string]int{}
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		res, err := st.UpsertUsers(ctx, batch, opt.Now)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		sum.Added += res.Added
		sum.Updated += res.Updated
		batch = batch[:0]
		clear(inBatch)
		return nil
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				sum.Rows++
				sum.Rejected++
				opt.OnProblem(Problem{Line: pe.StartLine, Reason: pe.Err.Error()})
				continue
			}
			return sum, fmt.Errorf("read csv: %w", err)
		}
		line, _ := cr.FieldPos(0) // only after a record was read: FieldPos panics after some errors
		sum.Rows++
		e, reason := parseRow(rec, idx, opt)
		if reason != "" {
			sum.Rejected++
			opt.OnProblem(Problem{Line: line, Reason: reason})
			continue
		}
		if i, dup := inBatch[e.ID]; dup {
			batch[i] = e // a later row for the same user wins, as across batches
			sum.Updated++
			continue
		}
		inBatch[e.ID] = len(batch)
		batch = append(batch, e)
		if len(batch) == opt.BatchSize {
			if err := flush(); err != nil {
				return sum, err
			}
		}
	}
	return sum, flush()
}

func columnIndex(header []string) (map[string]int, error) {
	idx := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		idx[h] = i
	}
	var missing []string
	for _, c := range Columns {
		if _, ok := idx[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("header lacks %s; want %s", strings.Join(missing, ", "), strings.Join(Columns, ","))
	}
	return idx, nil
}

func parseRow(rec []string, idx map[string]int, opt Options) (campaign.RosterEntry, string) {
	get := func(col string) string {
		i := idx[col]
		if i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	var e campaign.RosterEntry
	e.ID = get("user_id")
	if e.ID == "" {
		return e, "user_id is empty"
	}
	if len(e.ID) > 64 || !printable(e.ID) {
		return e, "user_id must be at most 64 printable characters"
	}
	p, err := phone.Normalize(get("phone"), opt.Region)
	if err != nil {
		return e, fmt.Sprintf("phone %q is not a valid number", clip(get("phone")))
	}
	e.Phone = p
	if em := get("email"); em != "" {
		a, err := mail.ParseAddress(em)
		if err != nil || a.Name != "" || a.Address != em || len(em) > 254 {
			return e, fmt.Sprintf("email %q is not a valid address", clip(em))
		}
		e.Email = strings.ToLower(em)
	}
	e.Name = get("name")
	if len(e.Name) > 100 || !printable(e.Name) {
		return e, "name must be at most 100 printable characters"
	}
	loc, ok := normalizeLocale(get("locale"))
	if !ok {
		return e, fmt.Sprintf("locale %q: want zh-Hans, en or empty", clip(get("locale")))
	}
	e.Locale = loc
	d, err := campaign.ParseDate(get("deadline"))
	if err != nil {
		return e, fmt.Sprintf("deadline %q: want YYYY-MM-DD", clip(get("deadline")))
	}
	e.Deadline = d
	if raw := get("id_last4"); raw != "" {
		n, err := campaign.NormalizeIDLast4(raw)
		if err != nil {
			return e, "id_last4: want exactly 4 letters or digits"
		}
		if opt.Hasher == nil {
			return e, "id_last4 given but no hash key configured"
		}
		e.IDLast4Hash = opt.Hasher.Hash(e.ID, n)
	}
	return e, ""
}

func normalizeLocale(s string) (string, bool) {
	switch strings.ToLower(strings.ReplaceAll(s, "_", "-")) {
	case "":
		return "", true
	case "zh", "zh-hans", "zh-cn", "zh-hans-cn", "zh-sg":
		return "zh-Hans", true
	case "en", "en-us", "en-gb":
		return "en", true
	}
	return "", false
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}
