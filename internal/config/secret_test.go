package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretMasks(t *testing.T) {
	const value = "hunter2-secret-value"
	tests := []struct {
		name   string
		render func() string
		want   string
	}{
		{"String", func() string { return Secret(value).String() }, "[REDACTED]"},
		{"%v", func() string { return fmt.Sprintf("%v", Secret(value)) }, "[REDACTED]"},
		{"%#v", func() string { return fmt.Sprintf("%#v", Secret(value)) }, "[REDACTED]"},
		{"%x", func() string { return fmt.Sprintf("%x", Secret(value)) }, "[REDACTED]"},
		{"%q", func() string { return fmt.Sprintf("%q", Secret(value)) }, `"[REDACTED]"`},
		{"JSON", func() string { b, _ := json.Marshal(Secret(value)); return string(b) }, `"[REDACTED]"`},
		{"slog", func() string { return Secret(value).LogValue().String() }, "[REDACTED]"},
		{"empty", func() string { return fmt.Sprintf("%v", Secret("")) }, ""},
		{"empty JSON", func() string { b, _ := json.Marshal(Secret("")); return string(b) }, `""`},
		{"bytes %v", func() string { return fmt.Sprintf("%v", SecretBytes(value)) }, "[REDACTED]"},
		{"bytes %d", func() string { return fmt.Sprintf("%d", SecretBytes(value)) }, "[REDACTED]"},
		{"bytes %s", func() string { return fmt.Sprintf("%s", SecretBytes(value)) }, "[REDACTED]"},
		{"bytes %#v", func() string { return fmt.Sprintf("%#v", SecretBytes(value)) }, "[REDACTED]"},
		{"bytes JSON", func() string { b, _ := json.Marshal(SecretBytes(value)); return string(b) }, `"[REDACTED]"`},
		{"bytes empty", func() string { return SecretBytes(nil).String() }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.render(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConfigLogsNoSecret(t *testing.T) {
	const (
		secret  = "client-secret-b7e1"
		pemBody = "PRIVATEKEYMATERIAL"
	)
	key := bytes.Repeat([]byte("K"), 32)
	c := validConfig()
	c.ClientSecret = secret
	c.ClientCertificateFile = "/etc/gateway/app.pem"
	c.ClientCertificatePEM = []byte("-----BEGIN PRIVATE KEY-----\n" + pemBody + "\n-----END PRIVATE KEY-----\n")
	c.PageTokenKey = key
	userCacheKey := bytes.Repeat([]byte("U"), 32)
	c.UserCacheFile, c.UserCacheKey = "/var/lib/gateway/users.bin", userCacheKey

	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("effective configuration", "config", c)
	var text slog.Handler = slog.NewTextHandler(&buf, nil)
	slog.New(text).Info("effective configuration", "config", c)
	buf.WriteString(fmt.Sprintf("%v %+v %#v", c, *c, c))
	jsonText, _ := json.Marshal(c)
	buf.Write(jsonText)

	out := buf.String()
	for _, leaked := range []string{secret, pemBody, string(key), string(userCacheKey)} {
		if strings.Contains(out, leaked) {
			t.Errorf("output holds a secret %q:\n%s", leaked, out)
		}
	}

	// The JSON record carries every setting, with the masks in place.
	var record struct {
		Config map[string]any `json:"config"`
	}
	first, _, _ := strings.Cut(out, "\n")
	if err := json.Unmarshal([]byte(first), &record); err != nil {
		t.Fatalf("decode log record: %v\n%s", err, first)
	}
	want := map[string]any{
		"tenant_id": c.TenantID, "client_secret": "[REDACTED]", "client_certificate_file": "/etc/gateway/app.pem",
		"page_token_key": "[REDACTED]", "backend": "graph", "api_url": c.APIURL, "grpc_addr": c.GRPCAddr, "sandbox": false,
		"user_cache_key": "[REDACTED]", "user_cache_file": c.UserCacheFile, "caller_auth": "none",
	}
	for k, v := range want {
		if record.Config[k] != v {
			t.Errorf("logged %s = %v, want %v", k, record.Config[k], v)
		}
	}
	if len(record.Config) != len(settings) {
		t.Errorf("logged %d settings, want all %d: %v", len(record.Config), len(settings), record.Config)
	}
}
