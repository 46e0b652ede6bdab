package backends

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when one leaves a goroutine behind:
// a retry loop or an attempt's timer that outlives its call.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
