// Package demo seeds the users a developer or a reviewer can try the portal with.
package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/config"
	"github.com/smsretire/smsretire/internal/store"
)

// User is one demo account and what it shows.
type User struct {
	Entry campaign.RosterEntry
	About string
}

// Users returns the demo accounts, with deadlines relative to today in loc.
func Users(now time.Time, loc *time.Location, h *campaign.IDHasher) []User {
	day := func(n int) campaign.Date { return campaign.DateOf(now.In(loc).AddDate(0, 0, n), loc) }
	mk := func(id, phone, email, name, locale string, deadline campaign.Date, last4 string) campaign.RosterEntry {
		e := campaign.RosterEntry{ID: id, Phone: phone, Email: email, Name: name, Locale: locale, Deadline: deadline, Wave: Wave}
		if last4 != "" {
			e.IDLast4Hash = h.Hash(id, last4)
		}
		return e
	}
	return []User{
		{mk("demo-zh", "+8613800138001", "zhang.wei@example.com", "张伟", "zh-Hans", day(37), "123X"), "Chinese, 37 days left, phone + email + ID digits 123X"},
		{mk("demo-en", "+8613800138002", "alex.chen@example.com", "Alex Chen", "en", day(21), "4567"), "English, 21 days left, ID digits 4567"},
		{mk("demo-late", "+8613800138003", "li.na@example.com", "李娜", "zh-Hans", day(-5), "8888"), "past due by 5 days: SMS closed, other methods open"},
		{mk("demo-soon", "+8613800138004", "", "王芳", "", day(2), "2468"), "2 days left, no email, browser language"},
		{mk("demo-today", "+8613800138005", "today@example.com", "", "", day(0), ""), "deadline today, no name, no ID digits"},
		{mk("demo-hk", "+85291234567", "hk.user@example.com", "陈美玲", "en", day(60), "0001"), "a Hong Kong number, 60 days left"},
	}
}

// Wave is the campaign wave of the demo users.
const Wave = "demo"

// Waves returns the campaign of `make run` without --config-file: the demo users' wave, starting
// at now, with a deadline 60 days on (each demo user has a deadline of their own, which wins).
// Its notices go out at once, outside the quiet hours, to the development outbox.
func Waves(now time.Time, loc *time.Location) []config.Wave {
	return []config.Wave{{Name: Wave, Start: now.In(loc), Deadline: campaign.DateOf(now.In(loc).AddDate(0, 0, 60), loc)}}
}

// Seed adds the demo users that are not there yet, leaving existing ones (and their progress) alone.
func Seed(ctx context.Context, st *store.SQL, now time.Time, loc *time.Location, h *campaign.IDHasher) ([]User, error) {
	users := Users(now, loc, h)
	var missing []campaign.RosterEntry
	for _, u := range users {
		_, err := st.UserByID(ctx, u.Entry.ID)
		if errors.Is(err, campaign.ErrUserNotFound) {
			missing = append(missing, u.Entry)
		} else if err != nil {
			return nil, fmt.Errorf("seed demo: %w", err)
		}
	}
	if len(missing) > 0 {
		if _, err := st.UpsertUsers(ctx, missing, now); err != nil {
			return nil, fmt.Errorf("seed demo: %w", err)
		}
	}
	return users, nil
}
