// Package config is the gateway's configuration: one Config struct filled
// from defaults, then DEFENDER_* environment variables, then command-line
// flags (a flag beats its variable, which beats the default).
//
// Load parses and reads the credential files; Validate checks the result and
// names every problem at once. Secrets are held as Secret or SecretBytes,
// which never print their value, and Config.LogValue logs every effective
// setting with the secrets masked. The operator's reference is
// docs/configuration.md; the settings table in settings.go is its source.
package config
