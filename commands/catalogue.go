package commands

import (
	"context"
	"strconv"
	"strings"
)

// pageSize is how many products /products shows at once.
const pageSize = 5

func (h *Handler) catalogueRoutes() []*route {
	return []*route{
		{name: "products", role: anyone, menu: true, run: h.products},
		{name: "join", role: anyone, menu: true, run: h.joinCmd},
		{name: "links", role: anyone, menu: true, run: h.links},
		{name: "qr", role: anyone, menu: true, run: h.qr},
		{name: "feedback", role: anyone, menu: true, run: h.feedback},
		{name: "addproduct", role: seller, private: true, menu: true, run: h.addProduct},
		{name: "myproducts", role: seller, menu: true, run: h.myProducts},
		{name: "editproduct", role: seller, menu: true, run: h.editProductCmd},
		{name: "affiliates", role: seller, menu: true, run: h.affiliates},
		{name: "apikey", role: seller, private: true, menu: true, run: h.apiKey},
	}
}

func (h *Handler) catalogueButtons() []*button {
	return []*button{
		{prefix: "pg", role: anyone, run: h.pageButton},
		{prefix: "join", role: anyone, run: h.joinButton},
		{prefix: "ap", role: seller, run: h.addProductButton},
		{prefix: "pp", role: seller, run: h.pauseButton},
		{prefix: "ed", role: seller, run: h.editButton},
	}
}

func (h *Handler) catalogueFlows() map[string]flowStep {
	return map[string]flowStep{
		flowAddProduct:  h.addProductStep,
		flowEditProduct: h.editProductStep,
	}
}

// payloads are the /start deep-link handlers by prefix: t.me/<bot>?start=p_<product_id>.
func (h *Handler) payloads() map[string]func(ctx context.Context, c *Call, arg string) error {
	return map[string]func(ctx context.Context, c *Call, arg string) error{
		"p": h.joinByText,
	}
}

// parseProductID reads "12" or "#12".
func parseProductID(s string) (uint64, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "#")
	id, err := strconv.ParseUint(s, 10, 64)
	return id, err == nil && id > 0
}
