package commands

import (
	"context"
	"fmt"

	"github.com/keranjang/keranjang/bot"
	qrcode "github.com/skip2/go-qrcode"
)

// qrPNG renders a URL as a 512×512 PNG QR code with medium error correction (prints and screens well).
func qrPNG(url string) ([]byte, error) {
	png, err := qrcode.Encode(url, qrcode.Medium, 512)
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	return png, nil
}

// Files sends pictures and documents (QR codes, product photos, /mydata).
type Files interface {
	SendFile(ctx context.Context, chatID int64, u bot.Upload) (int, error)
}
