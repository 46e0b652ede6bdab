package callerauth

import (
	"regexp"
	"strings"

	"google.golang.org/grpc/metadata"

	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

// maxAccountLen bounds x-defender-account (a UPN is at most 113 characters
// in Entra ID; some slack for guests' #EXT# names).
const maxAccountLen = 256

// upnPattern accepts name@domain.tld without spaces or control characters.
var upnPattern = regexp.MustCompile(`^[A-Za-z0-9._%+#'!$&*=^{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`)

// accountFrom returns the signed-in account the caller names, or "".
func accountFrom(md metadata.MD) (string, error) {
	values := md.Get(caller.HeaderAccount)
	switch len(values) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", invalidAccount("name one account")
	}
	account := strings.TrimSpace(values[0])
	switch {
	case account == "":
		return "", invalidAccount("is empty")
	case len(account) > maxAccountLen:
		return "", invalidAccount("is too long")
	case !upnPattern.MatchString(account):
		return "", invalidAccount("must be a UPN such as alice@contoso.onmicrosoft.com")
	}
	return account, nil
}

func invalidAccount(why string) error {
	return defender.Errorf(defender.KindInvalidArgument, defender.ReasonInvalidArgument, "%s: %s", caller.HeaderAccount, why)
}
