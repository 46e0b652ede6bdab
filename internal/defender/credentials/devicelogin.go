package credentials

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/sharedstate"
)

// DeviceLoginsOptions configure DeviceLogins.
type DeviceLoginsOptions struct {
	// ClientID is the app registration users sign in to; it must allow
	// public client flows.
	ClientID string
	// HTTPClient makes every request to Entra ID; nil is http.DefaultClient.
	HTTPClient *http.Client
	// CacheFile, when set, persists the signed-in accounts (MSAL's token
	// caches) encrypted with CacheKey, so that they survive a restart.
	CacheFile string
	// CacheKey is the 32-byte AES-256-GCM key of CacheFile; required with it.
	CacheKey []byte
	// SharedCache, when set, keeps the signed-in accounts in Redis too,
	// sealed with SharedCacheKey (32 bytes, AES-256-GCM) like the file, so
	// that every replica sharing it serves them. CacheFile may be set as
	// well; each tenant's shared cache wins over the file's when both
	// hold one.
	SharedCache    *sharedstate.Blobs
	SharedCacheKey []byte
	// Logger receives records of sign-ins (never a token or a code's
	// secret part).
	Logger *slog.Logger
	// Now is the clock of CreatedAt and of Retention (default time.Now).
	Now func() time.Time
	// MaxPending bounds the pending device logins (default 20).
	MaxPending int
	// Retention is how long finished device logins stay readable with Get
	// (default 1h).
	Retention time.Duration
	// Observer sees every silent token acquisition of a signed-in account
	// (metrics); nil sees none.
	Observer TokenObserver
}

// Defaults of DeviceLoginsOptions.
const (
	defaultMaxPendingDeviceLogins = 20
	defaultDeviceLoginRetention   = time.Hour
	// deviceCodeRequestTimeout bounds the request for a device code.
	deviceCodeRequestTimeout = 30 * time.Second
)

// LoginTenant is a tenant users sign in to: as configured (a GUID or a
// domain), its Entra ID host and the scope of the tokens.
type LoginTenant struct {
	Tenant, AuthorityHost, Scope string
}

// DeviceLoginState is where a device login is.
type DeviceLoginState int

// The device login states.
const (
	// DeviceLoginPending waits for the user to enter the code.
	DeviceLoginPending DeviceLoginState = iota
	// DeviceLoginCompleted: the user signed in; Account names them.
	DeviceLoginCompleted
	// DeviceLoginFailed: the user declined or Entra ID refused;
	// ErrorDetail says why.
	DeviceLoginFailed
	// DeviceLoginExpired: the code expired before the user signed in.
	DeviceLoginExpired
)

func (s DeviceLoginState) String() string {
	switch s {
	case DeviceLoginPending:
		return "pending"
	case DeviceLoginCompleted:
		return "completed"
	case DeviceLoginFailed:
		return "failed"
	case DeviceLoginExpired:
		return "expired"
	}
	return fmt.Sprintf("DeviceLoginState(%d)", int(s))
}

// DeviceLogin is one device-code sign-in.
type DeviceLogin struct {
	// ID is random, [a-z0-9]{1,64}; Tenant as configured.
	ID, Tenant string
	State      DeviceLoginState
	// UserCode, VerificationURI and Message are what the user needs.
	UserCode, VerificationURI, Message string
	CreatedAt, ExpiresAt               time.Time
	// Account is the UPN once completed; ErrorDetail why it failed (the
	// Entra error code and its short reason, never a secret).
	Account, ErrorDetail string
}

// Account is a signed-in account.
type Account struct{ Tenant, UPN string }

// DeviceLogins signs users in by device code and renews their tokens
// silently with MSAL public clients, one per tenant, built on first use.
// Signed-in accounts live in MSAL's token caches, kept in memory and, with
// a CacheFile, persisted encrypted. It is safe for concurrent use; Close
// stops every background poller.
type DeviceLogins struct {
	clientID   string
	httpClient *http.Client
	logger     *slog.Logger
	observer   TokenObserver
	now        func() time.Time
	maxPending int
	retention  time.Duration
	store      *userCacheStore
	shared     *sharedAcquirer

	// pollers is the context of every poller; stop cancels it.
	pollers context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	starting int // Start calls between the pending check and the new login
	clients  map[string]*tenantClient
	logins   map[string]*deviceLoginEntry
}

// tenantClient is one tenant's MSAL public client.
type tenantClient struct {
	tenant, authorityHost string
	client                public.Client
}

// deviceLoginEntry is a DeviceLogin and when it finished.
type deviceLoginEntry struct {
	login      DeviceLogin
	finishedAt time.Time
}

// NewDeviceLogins checks opts and loads CacheFile when it exists. A wrong
// key or a corrupt file is an error: the gateway must not start and
// overwrite the accounts it cannot read.
func NewDeviceLogins(opts DeviceLoginsOptions) (*DeviceLogins, error) {
	var errs []error
	if opts.ClientID == "" {
		errs = append(errs, errors.New("client ID is required"))
	}
	if opts.CacheFile == "" && len(opts.CacheKey) > 0 {
		errs = append(errs, errors.New("a cache key is given without a cache file"))
	}
	if opts.CacheFile != "" && len(opts.CacheKey) == 0 {
		errs = append(errs, errors.New("the cache file needs a cache key"))
	}
	if opts.MaxPending < 0 || opts.Retention < 0 {
		errs = append(errs, errors.New("max pending and retention must not be negative"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("credentials: device logins: %w", errors.Join(errs...))
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	store, err := openUserCacheStore(opts.CacheFile, opts.CacheKey, logger)
	if err != nil {
		return nil, fmt.Errorf("credentials: device logins: %w", err)
	}
	if opts.SharedCache != nil {
		if err := store.useShared(opts.SharedCache, opts.SharedCacheKey); err != nil {
			return nil, fmt.Errorf("credentials: device logins: %w", err)
		}
	}
	d := &DeviceLogins{
		clientID:   opts.ClientID,
		httpClient: opts.HTTPClient,
		logger:     logger,
		observer:   opts.Observer,
		now:        opts.Now,
		maxPending: opts.MaxPending,
		retention:  opts.Retention,
		store:      store,
		shared:     newSharedAcquirer(0),
		clients:    map[string]*tenantClient{},
		logins:     map[string]*deviceLoginEntry{},
	}
	if d.httpClient == nil {
		d.httpClient = http.DefaultClient
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.maxPending == 0 {
		d.maxPending = defaultMaxPendingDeviceLogins
	}
	if d.retention == 0 {
		d.retention = defaultDeviceLoginRetention
	}
	d.pollers, d.stop = context.WithCancel(context.Background())
	return d, nil
}

// client returns the tenant's MSAL client, building it on first use.
func (d *DeviceLogins) client(tenant, authorityHost string) (*tenantClient, error) {
	key := strings.ToLower(tenant)
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.clients[key]; ok {
		return c, nil
	}
	authority, instanceDiscovery, err := authorityURL(authorityHost, tenant)
	if err != nil {
		return nil, err
	}
	c, err := public.New(d.clientID,
		public.WithAuthority(authority),
		public.WithHTTPClient(d.httpClient),
		public.WithInstanceDiscovery(instanceDiscovery),
		public.WithCache(d.store.forTenant(tenant, authorityHost)))
	if err != nil {
		return nil, fmt.Errorf("build MSAL client for %s: %v", authority, err)
	}
	tc := &tenantClient{tenant: tenant, authorityHost: authorityHost, client: c}
	d.clients[key] = tc
	return tc, nil
}

// Start asks Entra ID for a device code for t and returns it at once; a
// background poller waits for the user until the code expires or Close.
func (d *DeviceLogins) Start(ctx context.Context, t LoginTenant) (DeviceLogin, error) {
	if t.Scope == "" {
		return DeviceLogin{}, internalError(errors.New("credentials: device login without a scope"))
	}
	if err := d.reserve(); err != nil {
		return DeviceLogin{}, err
	}
	defer d.release()
	tc, err := d.client(t.Tenant, t.AuthorityHost)
	if err != nil {
		return DeviceLogin{}, internalError(fmt.Errorf("credentials: device login for tenant %s: %w", t.Tenant, err))
	}
	reqCtx, cancel := context.WithTimeout(ctx, deviceCodeRequestTimeout)
	defer cancel()
	dc, err := tc.client.AcquireTokenByDeviceCode(reqCtx, []string{t.Scope})
	if err != nil {
		if ctx.Err() != nil {
			return DeviceLogin{}, contextError(ctx)
		}
		m := tokenErrorMapper{timeout: deviceCodeRequestTimeout, tenant: t.Tenant}
		return DeviceLogin{}, m.mapUserError(err, reqCtx.Err() != nil, flowDeviceCode)
	}
	login := DeviceLogin{
		ID:              newDeviceLoginID(),
		Tenant:          t.Tenant,
		State:           DeviceLoginPending,
		UserCode:        dc.Result.UserCode,
		VerificationURI: dc.Result.VerificationURL,
		Message:         dc.Result.Message,
		CreatedAt:       d.now(),
		ExpiresAt:       dc.Result.ExpiresOn,
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return DeviceLogin{}, errDeviceLoginsClosed()
	}
	d.logins[login.ID] = &deviceLoginEntry{login: login}
	d.wg.Add(1)
	go d.poll(login.ID, t.Tenant, dc)
	d.logger.LogAttrs(ctx, slog.LevelInfo, "device login started",
		slog.String("tenant", t.Tenant), slog.String("device_login", login.ID), slog.Time("expires_at", login.ExpiresAt))
	return login, nil
}

// reserve takes a pending slot, or fails when MaxPending are taken.
func (d *DeviceLogins) reserve() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errDeviceLoginsClosed()
	}
	d.pruneLocked()
	pending := d.starting
	for _, e := range d.logins {
		if e.login.State == DeviceLoginPending {
			pending++
		}
	}
	if pending >= d.maxPending {
		return defender.Errorf(defender.KindResourceExhausted, defender.ReasonTooManyDeviceLogins,
			"%d device logins are pending, the most the gateway allows: complete or let one expire first", pending)
	}
	d.starting++
	return nil
}

func (d *DeviceLogins) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.starting--
}

// pruneLocked forgets logins finished longer than Retention ago.
func (d *DeviceLogins) pruneLocked() {
	now := d.now()
	for id, e := range d.logins {
		if e.login.State != DeviceLoginPending && now.Sub(e.finishedAt) >= d.retention {
			delete(d.logins, id)
		}
	}
}

// poll waits for the user to sign in, and records the outcome.
func (d *DeviceLogins) poll(id, tenant string, dc public.DeviceCode) {
	defer d.wg.Done()
	ctx, cancel := context.WithDeadline(d.pollers, dc.Result.ExpiresOn)
	defer cancel()
	res, err := dc.AuthenticationResult(ctx)
	state, account, detail := DeviceLoginCompleted, "", ""
	switch {
	case err == nil:
		account = res.Account.PreferredUsername
	case d.pollers.Err() != nil:
		state, detail = DeviceLoginFailed, "the gateway shut down before the sign-in completed"
	case errors.Is(err, context.DeadlineExceeded):
		state, detail = DeviceLoginExpired, "the code expired before the user signed in"
	default:
		state, detail = deviceLoginFailure(err)
	}
	d.mu.Lock()
	if e, ok := d.logins[id]; ok {
		e.login.State, e.login.Account, e.login.ErrorDetail = state, account, detail
		e.finishedAt = d.now()
	}
	d.mu.Unlock()
	d.logger.LogAttrs(context.Background(), slog.LevelInfo, "device login finished",
		slog.String("tenant", tenant), slog.String("device_login", id), slog.String("state", state.String()),
		slog.String("account", account), slog.String("detail", detail))
}

// Get returns the device login id of tenant.
func (d *DeviceLogins) Get(tenant, id string) (DeviceLogin, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pruneLocked()
	e, ok := d.logins[id]
	if !ok || !strings.EqualFold(e.login.Tenant, tenant) {
		return DeviceLogin{}, defender.Errorf(defender.KindNotFound, defender.ReasonDeviceLoginNotFound,
			"device login %q of tenant %q does not exist or has been forgotten", truncateID(id), tenant)
	}
	return e.login, nil
}

// Close stops every poller and waits for them; pending logins fail.
func (d *DeviceLogins) Close() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.stop()
	d.wg.Wait()
}

func errDeviceLoginsClosed() *defender.Error {
	return defender.Errorf(defender.KindUnavailable, defender.ReasonUnavailable, "the gateway is shutting down")
}

func internalError(cause error) *defender.Error {
	return &defender.Error{Kind: defender.KindInternal, Reason: defender.ReasonInternal, Message: "internal error", Cause: cause}
}

// deviceLoginIDEncoding is lower-case base32 without padding: [a-z2-7].
var deviceLoginIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newDeviceLoginID returns 26 random characters of [a-z2-7] (130 bits).
func newDeviceLoginID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return deviceLoginIDEncoding.EncodeToString(b[:])
}

// truncateID bounds an id quoted in an error.
func truncateID(id string) string {
	if len(id) > 64 {
		return id[:64] + "…"
	}
	return id
}

// String describes the device logins without the cache key.
func (d *DeviceLogins) String() string {
	file := d.store.path
	if file == "" {
		file = "none (in memory)"
	}
	return fmt.Sprintf("credentials.DeviceLogins{client: %s, cache file: %s}", d.clientID, file)
}

// GoString is String, so %#v prints no key either.
func (d *DeviceLogins) GoString() string { return d.String() }
