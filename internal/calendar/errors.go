package calendar

import (
	"fmt"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// ErrInvalid marks calendar definitions or input that fail validation.
var ErrInvalid = fmt.Errorf("calendar: %w", fault.ErrInvalid)
