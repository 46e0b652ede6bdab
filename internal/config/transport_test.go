package config

import (
	"strings"
	"testing"
	"time"
)

func TestValidateTransport(t *testing.T) {
	tests := []struct {
		name      string
		mutate    func(c *Config)
		wantParts []string // empty: valid
	}{
		{name: "defaults", mutate: func(*Config) {}},
		{name: "admin on loopback", mutate: func(c *Config) { c.Transport.AdminAddr = "127.0.0.1:9090" }},
		{name: "admin port 0 beside port 0", mutate: func(c *Config) {
			c.GRPCAddr, c.HTTPAddr, c.Transport.AdminAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
		}},
		{name: "admin not host:port", mutate: func(c *Config) { c.Transport.AdminAddr = "9090" }, wantParts: []string{"DEFENDER_ADMIN_ADDR", "host:port"}},
		{name: "pprof on the admin listener", mutate: func(c *Config) { c.Transport.AdminAddr, c.Transport.Pprof = "127.0.0.1:9090", true }},
		{name: "pprof without an admin listener", mutate: func(c *Config) { c.Transport.Pprof = true }, wantParts: []string{"DEFENDER_PPROF: requires DEFENDER_ADMIN_ADDR"}},
		{name: "upstream idle connections in range", mutate: func(c *Config) { c.UpstreamMaxIdleConnsPerHost = 0 },
			wantParts: []string{"DEFENDER_UPSTREAM_MAX_IDLE_CONNS_PER_HOST: must be 1 to 1024, not 0"}},
		{name: "admin on the HTTP port", mutate: func(c *Config) { c.Transport.AdminAddr = c.HTTPAddr }, wantParts: []string{"DEFENDER_ADMIN_ADDR", "API listener"}},
		{name: "zero and negative sizes", mutate: func(c *Config) {
			c.Transport.HTTPMaxBodyBytes, c.Transport.HTTPMaxHeaderBytes = 0, -1
			c.Transport.GRPCMaxRecvMsgBytes, c.Transport.GRPCMaxHeaderListBytes, c.Transport.GRPCMaxConcurrentStreams = 0, 0, 0
		}, wantParts: []string{"DEFENDER_HTTP_MAX_BODY_BYTES: 0 is out of range", "DEFENDER_HTTP_MAX_HEADER_BYTES: -1", "DEFENDER_GRPC_MAX_RECV_MSG_BYTES",
			"DEFENDER_GRPC_MAX_HEADER_LIST_BYTES", "DEFENDER_GRPC_MAX_CONCURRENT_STREAMS"}},
		{name: "header size given in KiB by mistake", mutate: func(c *Config) { c.Transport.HTTPMaxHeaderBytes = 64 }, wantParts: []string{"DEFENDER_HTTP_MAX_HEADER_BYTES: 64 is out of range; use 4096"}},
		{name: "body of 2 GiB", mutate: func(c *Config) { c.Transport.HTTPMaxBodyBytes = 2 << 30 }, wantParts: []string{"DEFENDER_HTTP_MAX_BODY_BYTES"}},
		{name: "zero timeouts", mutate: func(c *Config) {
			tr := &c.Transport
			tr.HTTPReadHeaderTimeout, tr.HTTPReadTimeout, tr.HTTPWriteTimeout, tr.HTTPIdleTimeout = 0, 0, 0, -time.Second
			tr.GRPCKeepaliveMinTime, tr.GRPCMaxConnectionIdle, tr.GRPCMaxConnectionAge, tr.GRPCMaxConnectionAgeGrace = 0, 0, 0, 0
			tr.GRPCKeepaliveTime, tr.GRPCKeepaliveTimeout = 0, 0
		}, wantParts: []string{"DEFENDER_HTTP_READ_HEADER_TIMEOUT: must be positive", "DEFENDER_HTTP_READ_TIMEOUT: must be positive",
			"DEFENDER_HTTP_WRITE_TIMEOUT: must be positive", "DEFENDER_HTTP_IDLE_TIMEOUT: must be positive, not -1s",
			"DEFENDER_GRPC_KEEPALIVE_MIN_TIME", "DEFENDER_GRPC_MAX_CONNECTION_IDLE", "DEFENDER_GRPC_MAX_CONNECTION_AGE:",
			"DEFENDER_GRPC_MAX_CONNECTION_AGE_GRACE", "DEFENDER_GRPC_KEEPALIVE_TIME:", "DEFENDER_GRPC_KEEPALIVE_TIMEOUT"}},
		{name: "header timeout past read timeout", mutate: func(c *Config) { c.Transport.HTTPReadHeaderTimeout = time.Minute },
			wantParts: []string{"DEFENDER_HTTP_READ_HEADER_TIMEOUT (1m0s) is longer than DEFENDER_HTTP_READ_TIMEOUT (30s)"}},
		{name: "write timeout within the upstream timeout", mutate: func(c *Config) { c.Transport.HTTPWriteTimeout = c.UpstreamTimeout },
			wantParts: []string{"DEFENDER_HTTP_WRITE_TIMEOUT (1m0s) must be longer than DEFENDER_UPSTREAM_TIMEOUT (1m0s)"}},
		{name: "longer upstream timeout needs longer write timeout and grace", mutate: func(c *Config) { c.UpstreamTimeout = 5 * time.Minute },
			wantParts: []string{"DEFENDER_HTTP_WRITE_TIMEOUT", "DEFENDER_GRPC_MAX_CONNECTION_AGE_GRACE (4m0s) is shorter than DEFENDER_UPSTREAM_TIMEOUT (5m0s)"}},
		{name: "grace must cover a hunting call", mutate: func(c *Config) { c.Transport.GRPCMaxConnectionAgeGrace = 2 * time.Minute },
			wantParts: []string{"DEFENDER_GRPC_MAX_CONNECTION_AGE_GRACE (2m0s) is shorter than DEFENDER_HUNTING_CALL_TIMEOUT (3m20s)"}},
		{name: "retry attempts in range", mutate: func(c *Config) { c.Retry.MaxAttempts = 0 },
			wantParts: []string{"DEFENDER_RETRY_MAX_ATTEMPTS: must be between 1 and 10, not 0"}},
		{name: "retry base delay within the max", mutate: func(c *Config) { c.Retry.BaseDelay = time.Minute },
			wantParts: []string{"DEFENDER_RETRY_BASE_DELAY (1m0s) is longer than DEFENDER_RETRY_MAX_DELAY (10s)"}},
		{name: "call timeout positive", mutate: func(c *Config) { c.Retry.CallTimeout = 0 },
			wantParts: []string{"DEFENDER_CALL_TIMEOUT: must be positive"}},
		{name: "server pings faster than it lets clients ping", mutate: func(c *Config) { c.Transport.GRPCKeepaliveTime = 5 * time.Second },
			wantParts: []string{"DEFENDER_GRPC_KEEPALIVE_TIME (5s) is shorter than DEFENDER_GRPC_KEEPALIVE_MIN_TIME (10s)"}},
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
		})
	}
}

// TestLoadTransport reads the transport settings from the environment and
// flags, and refuses a value that is not a number.
func TestLoadTransport(t *testing.T) {
	c, err := Load([]string{"--http-read-timeout", "5s", "--grpc-keepalive-permit-without-stream=false", "--admin-addr", "127.0.0.1:9090"},
		env(map[string]string{"DEFENDER_HTTP_MAX_BODY_BYTES": "2048", "DEFENDER_GRPC_MAX_CONCURRENT_STREAMS": "7"}))
	if err != nil {
		t.Fatal(err)
	}
	tr := c.Transport
	if tr.HTTPReadTimeout != 5*time.Second || tr.GRPCKeepalivePermitWithoutStream || tr.AdminAddr != "127.0.0.1:9090" ||
		tr.HTTPMaxBodyBytes != 2048 || tr.GRPCMaxConcurrentStreams != 7 || tr.HTTPIdleTimeout != DefaultHTTPIdleTimeout {
		t.Errorf("loaded %+v", tr)
	}
	_, err = Load(nil, env(map[string]string{"DEFENDER_HTTP_MAX_BODY_BYTES": "1MiB"}))
	if err == nil || !strings.Contains(err.Error(), "DEFENDER_HTTP_MAX_BODY_BYTES: must be a whole number") {
		t.Errorf("Load(1MiB) = %v", err)
	}
}
