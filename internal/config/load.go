package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// programName names the program in usage text.
const programName = "defender-gateway"

// HelpError is what Load returns for -h or --help. errors.Is(err,
// flag.ErrHelp) holds; Usage is the text to print.
type HelpError struct {
	Usage string
}

func (e *HelpError) Error() string { return e.Usage }

// Is makes errors.Is(err, flag.ErrHelp) true.
func (e *HelpError) Is(target error) bool { return target == flag.ErrHelp }

// Load builds a Config from defaults, then the environment read through
// getenv, then args (command-line flags without the program name). It reads
// the secret and certificate files. It does not validate: call Validate once
// every change (such as the sandbox's) is made.
//
// Every error of the environment is reported at once; a bad flag stops the
// parse. For -h it returns a *HelpError holding the usage text.
func Load(args []string, getenv func(string) string) (*Config, error) {
	c := defaults()
	var errs []error
	for _, s := range settings {
		if v := getenv(s.env); v != "" {
			if err := s.set(c, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.env, err))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	secretGiven := c.ClientSecret != ""
	fs := newFlagSet(c, &secretGiven)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, &HelpError{Usage: Usage()}
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (settings are flags such as --tenant-id, or DEFENDER_* variables)", fs.Arg(0))
	}
	if err := c.readFiles(secretGiven); err != nil {
		return nil, err
	}
	if err := c.loadPartnerTenants(); err != nil {
		return nil, err
	}
	if err := c.loadQuotaFile(); err != nil {
		return nil, err
	}
	c.fillBackendDefaults()
	return c, nil
}

// newFlagSet registers every setting as a flag writing into c. It prints
// nothing: a bad flag is only the error Parse returns, and help is the
// caller's to print.
func newFlagSet(c *Config, secretGiven *bool) *flag.FlagSet {
	fs := flag.NewFlagSet(programName, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for _, s := range settings {
		set := func(v string) error {
			if s.env == "DEFENDER_CLIENT_SECRET" {
				*secretGiven = v != ""
			}
			return s.set(c, v)
		}
		if s.isBool {
			fs.BoolFunc(s.flag, s.usage, set)
		} else {
			fs.Func(s.flag, s.usage, set)
		}
	}
	return fs
}

// readFiles reads the secret and certificate files. Errors name the setting
// and the path, never content.
func (c *Config) readFiles(secretGiven bool) error {
	var errs []error
	if c.ClientSecretFile != "" {
		if secretGiven {
			errs = append(errs, errors.New("DEFENDER_CLIENT_SECRET and DEFENDER_CLIENT_SECRET_FILE are both set; set one"))
		} else if data, err := readSettingFile("DEFENDER_CLIENT_SECRET_FILE", c.ClientSecretFile); err != nil {
			errs = append(errs, err)
		} else {
			c.ClientSecret = Secret(strings.TrimRight(string(data), "\r\n"))
			if c.ClientSecret == "" {
				errs = append(errs, fmt.Errorf("DEFENDER_CLIENT_SECRET_FILE: %s is empty", c.ClientSecretFile))
			}
		}
	}
	if c.ClientCertificateFile != "" {
		if data, err := readSettingFile("DEFENDER_CLIENT_CERTIFICATE_FILE", c.ClientCertificateFile); err != nil {
			errs = append(errs, err)
		} else if len(bytes.TrimSpace(data)) == 0 {
			errs = append(errs, fmt.Errorf("DEFENDER_CLIENT_CERTIFICATE_FILE: %s is empty", c.ClientCertificateFile))
		} else {
			c.ClientCertificatePEM = data
		}
	}
	return errors.Join(errs...)
}

func readSettingFile(env, path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		// *PathError names the path and the reason only.
		return nil, fmt.Errorf("%s: %w", env, err)
	}
	return data, nil
}

// fillBackendDefaults sets the API URL and scope of a known backend when
// they are not configured.
func (c *Config) fillBackendDefaults() {
	d, ok := backendDefaults[c.Backend]
	if !ok {
		return // Validate reports the backend.
	}
	if c.APIURL == "" {
		c.APIURL = d.APIURL
	}
	if c.Scope == "" {
		c.Scope = d.Scope
	}
}

// Usage is the help text: every flag with its environment variable and
// default.
func Usage() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s [flags]\n       %s SUBCOMMAND [flags]\n\n", programName, programName)
	b.WriteString("Subcommands (each has -h):\n")
	b.WriteString("  healthcheck [--grpc-addr host:port | --admin-addr host:port] [--timeout 3s] [--tls]\n      Probe a running gateway's gRPC health service; exit 0 when SERVING.\n")
	b.WriteString("  hash-api-key --name NAME < key-file\n      Print the DEFENDER_API_KEYS_FILE entry of the key read from stdin.\n")
	b.WriteString("  sandbox-token --user alice [--http-addr localhost:8080]\n      Print a user access token for the gateway's API from a running --sandbox gateway.\n\n")
	b.WriteString("Defender Gateway serves Microsoft Defender XDR incidents and advanced hunting over gRPC and REST.\n")
	b.WriteString("Every flag is also an environment variable; a flag beats its variable, which beats the default.\n\n")
	for _, s := range settings {
		fmt.Fprintf(&b, "  --%s  (%s)\n      %s\n", s.flag, s.env, s.usage)
		if s.def != "" {
			fmt.Fprintf(&b, "      Default: %s\n", s.def)
		}
	}
	b.WriteString("\nCustom certificate authorities: set SSL_CERT_FILE to a PEM bundle.\nSee docs/configuration.md.\n")
	return b.String()
}
