// Package roster reads the operator's CSV of users who must leave SMS verification and loads it
// into the store, reporting each bad row with its line number.
package roster

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/phone"
	"github.com/smsretire/smsretire/internal/store"
)

// Columns is the CSV header, in any order. The deadline may be left out when WaveColumn is
// there: the wave's deadline then applies.
var Columns = []string{"user_id", "phone", "email", "name", "locale", "deadline", "id_last4"}

// WaveColumn is the optional column that puts a user in a wave of the campaign ([[wave]] in the
// configuration file); empty for no wave.
const WaveColumn = "wave"

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

// Summary counts what an import did, and says how the file was read.
type Summary struct {
	Rows, Added, Updated, Unchanged, Rejected int
	Format                                    Format
	// Of a full import: how many users the file did not name were taken out of scope, or why
	// none was (KeptInScope).
	Full        bool
	OutOfScope  int
	KeptInScope string
}

func (s Summary) String() string {
	out := fmt.Sprintf("%d rows read: %d added, %d updated, %d unchanged, %d rejected", s.Rows, s.Added, s.Updated, s.Unchanged, s.Rejected)
	switch {
	case s.Full && s.KeptInScope != "":
		out += "; no user taken out of scope: " + s.KeptInScope
	case s.Full:
		out += fmt.Sprintf("; %d taken out of scope", s.OutOfScope)
	}
	return out
}

// Options tune an import.
type Options struct {
	Region    string // for phone numbers without a country code; default CN
	BatchSize int    // rows per transaction; default 1000
	Now       time.Time
	Hasher    *campaign.IDHasher
	OnProblem func(Problem)
	OnFormat  func(Format) // told how the file is read, once, before any row
	// Waves are the campaign's waves by name with their deadlines: a row may name one of them.
	Waves map[string]campaign.Date
	// Full says the file is the whole roster: users it does not name are taken out of scope
	// (see MarkMissing), unless some row was rejected.
	Full bool
}

func (opt *Options) defaults() {
	if opt.Region == "" {
		opt.Region = phone.DefaultRegion
	}
	if opt.OnProblem == nil {
		opt.OnProblem = func(Problem) {}
	}
	if opt.OnFormat == nil {
		opt.OnFormat = func(Format) {}
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
}

// Import streams the roster file from r into st in batches. The file may be UTF-8 (with or
// without a byte order mark), GB18030/GBK as Excel on Chinese Windows saves it, or UTF-16, and
// comma-, semicolon- or tab-separated: Format says which. Bad rows are reported with their line
// and skipped — a quote left open spoils only its own line, and a user ID named again is refused
// in favour of its first row — and good rows load; a row equal to what the store holds changes
// nothing. It fails only on a file in no encoding it knows or an unreadable header, before any
// row is loaded, or on a store error.
func Import(ctx context.Context, r io.Reader, st Upserter, opt Options) (Summary, error) {
	opt.defaults()
	if opt.BatchSize <= 0 {
		opt.BatchSize = 1000
	}
	src, idx, err := openSource(r)
	if err != nil {
		return Summary{}, err
	}
	sum := Summary{Format: src.format}
	opt.OnFormat(src.format)
	batch := make([]campaign.RosterEntry, 0, opt.BatchSize)
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
		sum.Unchanged += res.Unchanged
		batch = batch[:0]
		return nil
	}
	seen := newSeenIDs()
	var fields []string
	for {
		text, err := src.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.Is(err, errLineTooLong) && !errors.As(err, new(errNotText)) {
			return sum, err
		}
		sum.Rows++
		reject := func(reason string) {
			sum.Rejected++
			opt.OnProblem(Problem{Line: src.line, Reason: reason})
		}
		if err != nil {
			reject(err.Error())
			continue
		}
		var problem string
		if fields, problem = splitLine(text, src.format.Separator, fields); problem != "" {
			reject(problem)
			continue
		}
		e, reason := parseRow(fields, idx, opt)
		if reason == "" {
			reason = seen.claim(e.ID, src.line)
		}
		if reason != "" {
			reject(reason)
			continue
		}
		batch = append(batch, e)
		if len(batch) == opt.BatchSize {
			if err := flush(); err != nil {
				return sum, err
			}
		}
	}
	if err := flush(); err != nil {
		return sum, err
	}
	return sum, markMissing(ctx, st, seen, &sum, opt)
}

// Scoper takes users out of the campaign's scope after a full import: store.SQL.
type Scoper interface {
	// InScopeUserIDs calls fn with the ID of every user in scope.
	InScopeUserIDs(ctx context.Context, fn func(id string) error) error
	// TakeOutOfScope marks users out of scope, with a history entry each, and reports how many
	// it marked.
	TakeOutOfScope(ctx context.Context, ids []string, now time.Time) (int, error)
}

// markMissing, after a full import (opt.Full), takes every user in scope that the file did not
// name out of scope: they stay, with their history, but the campaign leaves them alone until a
// roster names them again. It does nothing when a row was rejected (its user might be one of
// them) or the file held no row, and says why in the summary.
func markMissing(ctx context.Context, st any, seen *seenIDs, sum *Summary, opt Options) error {
	if !opt.Full {
		return nil
	}
	sum.Full = true
	switch {
	case sum.Rejected > 0:
		sum.KeptInScope = fmt.Sprintf("%d rows were rejected; fix them and import the full roster again", sum.Rejected)
		return nil
	case sum.Rows == 0:
		sum.KeptInScope = "the file holds no row"
		return nil
	}
	sc, ok := st.(Scoper)
	if !ok {
		return fmt.Errorf("import --full: the store cannot take users out of scope")
	}
	var missing []string
	err := sc.InScopeUserIDs(ctx, func(id string) error {
		if !seen.has(id) {
			missing = append(missing, id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("import --full: %w", err)
	}
	for start := 0; start < len(missing); start += 1000 {
		n, err := sc.TakeOutOfScope(ctx, missing[start:min(start+1000, len(missing))], opt.Now)
		sum.OutOfScope += n
		if err != nil {
			return fmt.Errorf("import --full: %w", err)
		}
	}
	return nil
}

// seenIDs remembers the user IDs an import loaded and the line of each, to refuse a later row
// for the same user. It keeps a 63-bit keyed hash of each ID, not the ID, in an open-addressing
// table of 12 bytes a slot, at most three quarters full: 16 to 32 bytes a row, a third of what a
// Go map of the same takes. Two different IDs share a hash with a chance of about one in 5·10^6
// for a file of 2,000,000 rows; the later row would then be refused and reported, never lost
// silently.
type seenIDs struct {
	seed  maphash.Seed
	keys  []uint64 // 0 for an empty slot, else a hash with its lowest bit set
	lines []uint32
	n     int
}

func newSeenIDs() *seenIDs {
	return &seenIDs{seed: maphash.MakeSeed(), keys: make([]uint64, 1024), lines: make([]uint32, 1024)}
}

// has reports whether a row of the file loaded user id (or, rarely, one whose hash is equal: that
// user is then kept in scope, the safe side).
func (s *seenIDs) has(id string) bool {
	h := maphash.String(s.seed, id) | 1
	mask := uint64(len(s.keys) - 1)
	for i := (h >> 1) & mask; ; i = (i + 1) & mask {
		switch s.keys[i] {
		case 0:
			return false
		case h:
			return true
		}
	}
}

// claim records that line loads user id; when an earlier line did, it returns why this row is
// refused, naming both lines.
func (s *seenIDs) claim(id string, line int) string {
	h := maphash.String(s.seed, id) | 1
	mask := uint64(len(s.keys) - 1)
	for i := (h >> 1) & mask; ; i = (i + 1) & mask {
		switch s.keys[i] {
		case 0:
			s.keys[i], s.lines[i] = h, uint32(line)
			if s.n++; s.n*4 > len(s.keys)*3 {
				s.grow()
			}
			return ""
		case h:
			first := s.lines[i]
			return fmt.Sprintf("user_id %q is on line %d already: this later row is refused, line %d loads", clip(id), first, first)
		}
	}
}

func (s *seenIDs) grow() {
	keys, lines := s.keys, s.lines
	s.keys, s.lines = make([]uint64, 2*len(keys)), make([]uint32, 2*len(keys))
	mask := uint64(len(s.keys) - 1)
	for j, h := range keys {
		if h == 0 {
			continue
		}
		i := (h >> 1) & mask
		for s.keys[i] != 0 {
			i = (i + 1) & mask
		}
		s.keys[i], s.lines[i] = h, lines[j]
	}
}

func columnIndex(header []string) (map[string]int, error) {
	idx := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		idx[h] = i
	}
	var missing []string
	for _, c := range Columns {
		if _, ok := idx[c]; !ok && (c != "deadline" || !has(idx, WaveColumn)) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("header lacks %s; want the columns %s, separated by commas (semicolons or tabs are read too)",
			strings.Join(missing, ", "), strings.Join(Columns, ","))
	}
	return idx, nil
}

func has(idx map[string]int, col string) bool {
	_, ok := idx[col]
	return ok
}

func parseRow(rec []string, idx map[string]int, opt Options) (campaign.RosterEntry, string) {
	get := func(col string) string {
		i, ok := idx[col]
		if !ok || i >= len(rec) {
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
	if e.Wave = get(WaveColumn); e.Wave != "" {
		d, ok := opt.Waves[e.Wave]
		if !ok {
			return e, fmt.Sprintf("wave %q is not a [[wave]] of the configuration file (--config-file)%s", clip(e.Wave), waveList(opt.Waves))
		}
		e.Deadline, e.DeadlineFromWave = d, true
	}
	switch raw := get("deadline"); {
	case raw != "":
		d, err := campaign.ParseDate(raw)
		if err != nil {
			return e, fmt.Sprintf("deadline %q: want YYYY-MM-DD", clip(raw))
		}
		e.Deadline, e.DeadlineFromWave = d, false // the row's own deadline wins over its wave's
	case e.Wave == "":
		return e, "deadline is empty and no wave gives one: want YYYY-MM-DD, or a wave"
	}
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

// waveList names the configured waves for a message: ": want one of a, b".
func waveList(waves map[string]campaign.Date) string {
	if len(waves) == 0 {
		return ": the file names none"
	}
	names := make([]string, 0, len(waves))
	for n := range waves {
		names = append(names, n)
	}
	slices.Sort(names)
	return ": want one of " + strings.Join(names, ", ")
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
