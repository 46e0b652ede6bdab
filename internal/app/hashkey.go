package app

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/defender-gateway/gateway/internal/callerauth"
)

// keyName is what an API key's name may be: it becomes the identity
// api-key:{name} in the policy and the audit log.
var keyName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// hashAPIKey reads an API key from stdin (its first line) and prints the
// keys-file entry that stores it hashed. The key itself is never printed.
func hashAPIKey(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hash-api-key", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "the key's name: the caller identity is api-key:{name}")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: defender-gateway hash-api-key --name NAME < key-file\nPrints the DEFENDER_API_KEYS_FILE entry of the key read from stdin.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if !keyName.MatchString(*name) {
		fmt.Fprintln(stderr, "hash-api-key: --name must be 1 to 64 letters, digits, '.', '_' or '-'")
		return exitUsage
	}
	if stdin == nil {
		fmt.Fprintln(stderr, "hash-api-key: no key on stdin")
		return exitUsage
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	key := strings.TrimRight(line, "\r\n")
	if (err != nil && err != io.EOF) || strings.TrimSpace(key) == "" {
		fmt.Fprintln(stderr, "hash-api-key: no key on stdin")
		return exitUsage
	}
	if len(key) < 16 {
		fmt.Fprintln(stderr, "hash-api-key: the key is shorter than 16 characters; use a random one (head -c 32 /dev/urandom | base64)")
		return exitUsage
	}
	fmt.Fprintf(stdout, "  - name: %s\n    sha256: %s\n", *name, callerauth.HashAPIKey(key))
	return exitOK
}
