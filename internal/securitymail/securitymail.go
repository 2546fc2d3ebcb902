// Package securitymail tells a user by email about a change to how their account signs in — a
// factor added or removed, a recovery code used, new recovery codes — so that a change they did
// not make reaches them on a channel other than the one just used. The email goes through the
// outbox in the transaction of the change.
package securitymail

import (
	"context"
	"time"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/campaign"
	"github.com/smsretire/smsretire/internal/outbox"
	"github.com/smsretire/smsretire/internal/store"
)

// Send writes the email about change (the change's history event; kind names the factor kind, or
// "") to the user's registered email inside tx. A user without a registered email gets none.
func Send(ctx context.Context, tx *store.Tx, userID string, change audit.Type, kind string, c audit.Client, now time.Time) error {
	u, err := tx.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	return SendTo(ctx, tx, u, change, kind, c, now)
}

// SendTo is Send for a user already read.
func SendTo(ctx context.Context, tx *store.Tx, u campaign.User, change audit.Type, kind string, c audit.Client, now time.Time) error {
	if u.Email == "" {
		return nil
	}
	_, err := tx.EnqueueOutbox(ctx, outbox.SecurityNotice(u, change, kind, c, now))
	return err
}
