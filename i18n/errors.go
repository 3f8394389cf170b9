package i18n

import (
	"errors"

	"github.com/keranjang/keranjang/affiliate"
)

func asError(err error, target **affiliate.Error) bool { return errors.As(err, target) }
