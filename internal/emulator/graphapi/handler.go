package graphapi

import (
	"net/http"
	"strings"

	"github.com/defender-gateway/gateway/internal/emulator/access"
	"github.com/defender-gateway/gateway/internal/emulator/claims"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/emulator/store"
	"github.com/defender-gateway/gateway/internal/emulator/wire"
)

// Page sizes of GET /v1.0/security/incidents.
const (
	DefaultPageSize = 50
	MaxPageSize     = 50
)

// maxBodyBytes bounds request bodies.
const maxBodyBytes = 1 << 20

const incidentsPath = "/v1.0/security/incidents"

// handler serves the Graph security endpoints over a store.
type handler struct {
	store *store.Store
}

// New returns the fake Graph handler. It expects full request paths
// (/v1.0/security/...) and verified claims in the request context.
func New(st *store.Store) http.Handler {
	h := &handler{store: st}
	// Graph's delegated permissions share the application permissions' names.
	readPerms := []string{identity.GraphIncidentRead, identity.GraphIncidentReadWrite}
	writePerms := []string{identity.GraphIncidentReadWrite}
	huntPerms := []string{identity.GraphHunting}
	read := access.Requirement{App: readPerms, Delegated: readPerms, Right: access.Read}
	write := access.Requirement{App: writePerms, Delegated: writePerms, Right: access.Update}
	hunt := access.Requirement{App: huntPerms, Delegated: huntPerms, Right: access.Hunt}
	alertReadPerms := []string{identity.GraphAlertRead, identity.GraphAlertReadWrite}
	alertWritePerms := []string{identity.GraphAlertReadWrite}
	alertRead := access.Requirement{App: alertReadPerms, Delegated: alertReadPerms, Right: access.Read}
	alertWrite := access.Requirement{App: alertWritePerms, Delegated: alertWritePerms, Right: access.Update}
	mux := http.NewServeMux()
	mux.Handle("GET "+incidentsPath, authorize(read, h.listIncidents))
	mux.Handle("GET "+incidentsPath+"/{id}", authorize(read, h.getIncident))
	mux.Handle("PATCH "+incidentsPath+"/{id}", authorize(write, h.updateIncident))
	mux.Handle("POST "+incidentsPath+"/{id}/comments", authorize(write, h.addComment))
	mux.Handle("POST /v1.0/security/runHuntingQuery", authorize(hunt, h.runHuntingQuery))
	mux.Handle("GET "+alertsPath, authorize(alertRead, h.listAlerts))
	mux.Handle("GET "+alertsPath+"/{id}", authorize(alertRead, h.getAlert))
	mux.Handle("PATCH "+alertsPath+"/{id}", authorize(alertWrite, h.updateAlert))
	mux.Handle("POST "+alertsPath+"/{id}/comments", authorize(alertWrite, h.addAlertComment))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		wire.WriteGraphError(w, r, http.StatusNotFound, "NotFound",
			"Resource not found for the segment '"+lastSegment(r.URL.Path)+"' or method "+r.Method+" is not supported.")
	})
	return mux
}

// authorizedHandler is an endpoint that runs with the caller's claims.
type authorizedHandler func(w http.ResponseWriter, r *http.Request, c claims.Claims)

// authorize runs next if the request carries claims that meet req (see
// package access); otherwise it answers 401 or 403.
func authorize(req access.Requirement, next authorizedHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := claims.From(r.Context())
		if !ok {
			wire.WriteGraphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
			return
		}
		switch access.Check(c, req) {
		case access.Allowed:
			next(w, r, c)
		case access.UserDenied:
			wire.WriteGraphError(w, r, http.StatusForbidden, "Forbidden",
				"The signed-in user does not have the role or Defender permission required for this operation.")
		default:
			permissions := req.App
			if access.IsDelegated(c) {
				permissions = req.Delegated
			}
			wire.WriteGraphError(w, r, http.StatusForbidden, "Forbidden",
				"Missing permission: the access token must grant "+strings.Join(permissions, " or ")+".")
		}
	})
}

// actor names the caller in comments and lastModifiedBy: the user for
// delegated tokens, "API-App:<appId>" for applications.
func actor(c claims.Claims) string {
	if c.UPN != "" {
		return c.UPN
	}
	return "API-App:" + c.AppID
}

// baseURL is the scheme and host the client called, for absolute links.
func baseURL(r *http.Request) string {
	return "https://" + r.Host
}

func lastSegment(path string) string {
	path = strings.TrimRight(path, "/")
	return path[strings.LastIndex(path, "/")+1:]
}

func badRequest(w http.ResponseWriter, r *http.Request, message string) {
	wire.WriteGraphError(w, r, http.StatusBadRequest, "BadRequest", message)
}
