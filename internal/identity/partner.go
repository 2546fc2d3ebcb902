package identity

import (
	"context"

	"github.com/smsretire/smsretire/internal/audit"
	"github.com/smsretire/smsretire/internal/store"
)

// PartnerOpened records that a partner site opened the user's notice in its page (a launch
// internal/partner accepted). When the partner is trusted to have verified the user
// (verifies_identity), it is also the user's verification, with what any verification brings (the
// lifted "this wasn't me" lock, the operators' event, the state), in the same transaction.
func (s *Service) PartnerOpened(ctx context.Context, userID, partnerID string, verifies bool, c Client) error {
	now := s.clock.Now()
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.AppendEvent(ctx, audit.EmbedOpened.Event(userID, c, now, map[string]string{"partner": partnerID})); err != nil {
			return err
		}
		if !verifies {
			return nil
		}
		return s.markVerified(ctx, tx, userID, MethodPartner, c, now)
	})
}
