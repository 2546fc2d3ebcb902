// Package notice tells a user by email about a change to how their account signs in — a factor
// added or removed, a recovery code used, new recovery codes — so that a change they did not make
// reaches them on a channel other than the one just used. Notices go through the outbox in the
// transaction of the change.
package notice

import (
	"context"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/store"
	"github.com/smsretire/smsretire/internal/useragent"
)

// The changes a notice reports.
const (
	FactorAdded         = "factor.added"
	FactorRemoved       = "factor.removed"
	RecoveryUsed        = "recovery.used"
	RecoveryRegenerated = "recovery.regenerated"
)

// Enqueue writes the notice of change (kind names the factor kind, or "") to the user's
// registered email inside tx. A user without a registered email gets none.
func Enqueue(ctx context.Context, tx *store.Tx, userID, change, kind string, c audit.Client, now time.Time) error {
	u, err := tx.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	return EnqueueFor(ctx, tx, u, change, kind, c, now)
}

// EnqueueFor is Enqueue for a user already read.
func EnqueueFor(ctx context.Context, tx *store.Tx, u campaign.User, change, kind string, c audit.Client, now time.Time) error {
	if u.Email == "" {
		return nil
	}
	data := map[string]string{
		"change": change, "kind": kind, "date": now.UTC().Format(time.RFC3339),
		"device": useragent.Describe(c.UserAgent), "ip": c.IP, "name": u.Name,
	}
	_, err := tx.EnqueueOutbox(ctx, outbox.Email(u.ID, u.Email, u.Locale, outbox.TemplateSecurityNotice, data, "", now))
	return err
}
