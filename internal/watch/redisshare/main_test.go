package redisshare

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when one leaves a goroutine behind: a
// hub's reader or poller that outlives it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
