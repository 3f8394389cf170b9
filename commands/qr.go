package commands

import (
	"fmt"

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
