package config

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestValidateRedis(t *testing.T) {
	key := bytes.Repeat([]byte{3}, 32)
	tests := []struct {
		name      string
		mutate    func(c *Config)
		wantParts []string // empty: valid
	}{
		{name: "no redis", mutate: func(*Config) {}},
		{name: "redis with a page-token key", mutate: func(c *Config) { c.Redis.URL, c.PageTokenKey = "redis://127.0.0.1:6379/0", key }},
		{name: "rediss with credentials and shared key", mutate: func(c *Config) {
			c.Redis.URL, c.Redis.SharePageTokenKey = "rediss://gw:s3cret@redis.internal:6380", true
		}},
		{name: "redis without any page-token key", mutate: func(c *Config) { c.Redis.URL = "redis://localhost:6379" },
			wantParts: []string{"DEFENDER_REDIS_URL is set", "DEFENDER_PAGE_TOKEN_KEY", "DEFENDER_REDIS_SHARE_PAGE_TOKEN_KEY=true"}},
		{name: "http scheme", mutate: func(c *Config) { c.Redis.URL, c.PageTokenKey = "http://localhost:6379", key },
			wantParts: []string{"DEFENDER_REDIS_URL: must use redis:// or rediss://"}},
		{name: "no host", mutate: func(c *Config) { c.Redis.URL, c.PageTokenKey = "redis:///0", key },
			wantParts: []string{"DEFENDER_REDIS_URL: is not a URL with a host"}},
		{name: "bad database", mutate: func(c *Config) { c.Redis.URL, c.PageTokenKey = "redis://:pw@h:6379/zero", key },
			wantParts: []string{"DEFENDER_REDIS_URL: the path must be a database number"}},
		{name: "bad port", mutate: func(c *Config) { c.Redis.URL, c.PageTokenKey = "redis://h:99999", key },
			wantParts: []string{"DEFENDER_REDIS_URL: has a bad port"}},
		{name: "query", mutate: func(c *Config) { c.Redis.URL, c.PageTokenKey = "redis://h:6379?db=1", key },
			wantParts: []string{"DEFENDER_REDIS_URL: must not have a query"}},
		{name: "share without url", mutate: func(c *Config) { c.Redis.SharePageTokenKey = true },
			wantParts: []string{"DEFENDER_REDIS_SHARE_PAGE_TOKEN_KEY needs DEFENDER_REDIS_URL"}},
		{name: "zero timeout", mutate: func(c *Config) { c.Redis.CommandTimeout = 0 },
			wantParts: []string{"DEFENDER_REDIS_COMMAND_TIMEOUT: must be positive"}},
		{name: "empty prefix", mutate: func(c *Config) { c.Redis.URL, c.PageTokenKey, c.Redis.KeyPrefix = "redis://h", key, "" },
			wantParts: []string{"DEFENDER_REDIS_KEY_PREFIX: must not be empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(c)
			err := c.Validate()
			if len(tt.wantParts) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate succeeded, want an error")
			}
			for _, part := range tt.wantParts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
			if strings.Contains(err.Error(), "pw") {
				t.Errorf("error %q quotes the URL's password", err)
			}
		})
	}
}

func TestLoadRedis(t *testing.T) {
	env := map[string]string{
		"DEFENDER_SANDBOX": "true", "DEFENDER_REDIS_URL": " redis://u:pw@127.0.0.1:6379/2 ",
		"DEFENDER_REDIS_KEY_PREFIX": "gw1:", "DEFENDER_REDIS_COMMAND_TIMEOUT": "1s", "DEFENDER_REDIS_SHARE_PAGE_TOKEN_KEY": "true",
	}
	c, err := Load(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := Redis{URL: "redis://u:pw@127.0.0.1:6379/2", KeyPrefix: "gw1:", CommandTimeout: time.Second, SharePageTokenKey: true}
	if c.Redis != want {
		t.Errorf("Redis = %#v; want %#v", c.Redis, want)
	}
	if got := c.Redis.RedactedURL(); got != "redis://127.0.0.1:6379/2" {
		t.Errorf("RedactedURL = %q", got)
	}
	d := defaults().Redis
	if d.Enabled() || d.KeyPrefix != "defender-gateway:" || d.CommandTimeout != 250*time.Millisecond || d.SharePageTokenKey {
		t.Errorf("defaults = %#v", d)
	}
}
