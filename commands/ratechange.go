package commands

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
)

// tellRateChange informs the product's affiliates of a new rate: a raise at once for everyone, a cut
// with the date until which they keep their rate. The reminder before a kept rate ends is a scheduler job.
func (h *Handler) tellRateChange(ctx context.Context, before, after affiliate.Product, kept []affiliate.Link) {
	if after.Rate > before.Rate {
		links, err := h.deps.Links.ProductLinks(ctx, after.ID)
		if err != nil {
			zerolog.Ctx(ctx).Error().Err(err).Msg("rate raise: list links")
			return
		}
		for _, l := range links {
			h.notify(ctx, l.AffiliateID, affiliate.Notice{Key: "rate_raised", Args: []any{after.Name, before.Rate, after.Rate}})
		}
		return
	}
	for _, l := range kept {
		h.notify(ctx, l.AffiliateID, affiliate.Notice{Key: "rate_cut", Args: []any{after.Name, l.KeptRate, after.Rate, l.KeptUntil},
			ID: fmt.Sprintf("ratecut:%s:%d", l.Code, l.KeptUntil.Unix())})
	}
}
